// Package mqtttest starts a real Mosquitto broker for tests: a child process
// in the foreground, on a free 127.0.0.1 port, with its files in a temporary
// directory and a deliberate configuration (broker.MosquittoConf:
// max_queued_messages 20000, persistence, no anonymous clients, the
// generated livegate ACL, passwords or mutual TLS). Run as root, Mosquitto
// switches to the mosquitto user, so the directory is given to it. Kill and
// Restart let fault tests stop the broker with SIGKILL and bring it back on
// the same port.
package mqtttest
