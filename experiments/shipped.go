package experiments

import (
	"embed"
	"path"
	"sort"
	"strings"
)

//go:embed shipped/*.yaml
var shippedFS embed.FS

// ShippedInfo names one experiment embedded in the binary.
type ShippedInfo struct {
	Name        string
	Description string
}

// Shipped lists the experiments embedded in the binary, sorted by name.
func Shipped() []ShippedInfo {
	entries, _ := shippedFS.ReadDir("shipped")
	var out []ShippedInfo
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		info := ShippedInfo{Name: name}
		if exp, err := Parse("shipped:"+e.Name(), mustRead(e.Name()), Options{}); err == nil {
			info.Description = exp.Spec.Description
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ShippedFile returns the text of a shipped experiment.
func ShippedFile(name string) ([]byte, bool) { return shippedFile(name) }

func shippedFile(name string) ([]byte, bool) {
	b, err := shippedFS.ReadFile("shipped/" + name + ".yaml")
	return b, err == nil
}

func mustRead(file string) []byte {
	b, _ := shippedFS.ReadFile("shipped/" + file)
	return b
}
