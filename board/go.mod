module livegate.dev/board

go 1.26
