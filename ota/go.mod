module livegate.dev/ota

go 1.26
