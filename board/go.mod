module livegate.dev/board

go 1.26.0

require livegate.dev/drivers v0.0.0

require (
	go.uber.org/goleak v1.3.0 // indirect
	periph.io/x/conn/v3 v3.7.2 // indirect
	periph.io/x/host/v3 v3.8.5 // indirect
)

replace livegate.dev/drivers => ../drivers
