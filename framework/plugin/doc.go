// Package plugin holds what the kalm host and every plugin process agree on:
// the handshake, the protocol version, the description a plugin gives of
// itself (the `describe` subcommand), and the serving loop behind env.Serve,
// algo.Serve and lm.Serve.
//
// Plugin authors do not use this package directly; they call the Serve
// function of their kind's package. The host side lives in package registry.
package plugin
