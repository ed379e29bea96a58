// Package pb holds the generated protocol-buffer code of kalm's plugin
// protocol (kalm.proto). Nothing outside framework/ sees it.
//
// Regenerate with `go generate ./framework/internal/pb` (needs protoc from
// Debian's protobuf-compiler, and protoc-gen-go and protoc-gen-go-grpc, which
// the directive below runs at pinned versions).
package pb

//go:generate sh -c "PATH=$(go env GOPATH)/bin:$PATH && go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12 && go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2 && protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative kalm.proto"
