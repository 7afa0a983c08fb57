module livegate.dev/board

go 1.26

require (
	livegate.dev/drivers v0.0.0
	periph.io/x/conn/v3 v3.7.2 // indirect
	periph.io/x/host/v3 v3.8.5 // indirect
)

replace livegate.dev/drivers => ../drivers
