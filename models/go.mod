module livegate.dev/models

go 1.26
