// Package render holds the picture-making the first-party env plugins share:
// wrapping a caption into lines and assembling an episode's frames into an
// animated GIF. Each env draws its own scene.
package render
