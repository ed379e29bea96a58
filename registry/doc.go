// Package registry finds kalm plugins, asks each to describe itself, checks
// its protocol version and optional SHA-256 pin, and launches it as a
// subprocess speaking gRPC through hashicorp/go-plugin.
//
// Built-in plugins are served by the kalm binary itself (`kalm plugin serve
// NAME`), started as a subprocess like any other. External plugins are
// binaries named kalm-plugin-NAME on the plugin path: the directories given
// with --plugin-dir, then $KALM_PLUGIN_PATH (colon-separated), then
// ~/.kalm/plugins. An external plugin shadows a built-in of the same name.
//
// Every launched process is reaped: Close kills it, Registry.Close kills all
// that are left, and on Linux each plugin also dies with its host (parent
// death signal), so a host that panics or is killed leaves no orphans.
package registry
