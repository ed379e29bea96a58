module github.com/kalm-go/kalm

go 1.26
