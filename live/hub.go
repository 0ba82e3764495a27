// Package live is the event stream behind the wall map: it reads the events
// outbox, LISTENs for new rows, and fans them out to websocket clients.
package live

// Hub fans events out to websocket clients.
type Hub struct{}
