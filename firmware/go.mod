module livegate.dev/firmware

go 1.26
