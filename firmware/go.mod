module livegate.dev/firmware

go 1.26.0

require (
	github.com/eclipse/paho.mqtt.golang v1.5.1 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/net v0.44.0 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

require (
	livegate.dev/board v0.0.0
	livegate.dev/drivers v0.0.0
	livegate.dev/models v0.0.0
	livegate.dev/proto v0.0.0
)

replace livegate.dev/proto => ../proto

replace livegate.dev/drivers => ../drivers

replace livegate.dev/board => ../board

replace livegate.dev/models => ../models
