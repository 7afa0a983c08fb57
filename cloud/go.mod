module livegate.dev/cloud

go 1.26
