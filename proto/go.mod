module livegate.dev/proto

go 1.26
