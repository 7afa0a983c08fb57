module livegate.dev/drivers

go 1.26
