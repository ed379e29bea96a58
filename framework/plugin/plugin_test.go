package plugin

import (
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestReceive(t *testing.T) {
	bad := errors.New("bad metadata")
	for _, tc := range []struct {
		name   string
		events []int   // the stream; 0 is a progress event, 1 the result, 2 a result handle rejects
		end    error   // what recv returns after the events
		seen   int     // events handle must see
		want   string  // error text ("" for none)
		is     []error // errors the result must wrap
	}{
		{"result", []int{0, 0, 1, 0}, io.EOF, 3, "", nil},
		{"no result", []int{0, 0}, io.EOF, 2, "train: plugin ended the stream without a result", nil},
		{"plugin died", []int{0}, status.Error(codes.Unavailable, "connection reset"), 1, "plugin process is gone", []error{ErrUnavailable}},
		{"plugin error", nil, status.Error(codes.Unknown, "train: steps = 0, want ≥ 1"), 0, "train: steps = 0, want ≥ 1", nil},
		{"handle error", []int{0, 2, 1}, io.EOF, 2, "bad metadata", []error{bad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, seen := 0, 0
			recv := func() (int, error) {
				if i == len(tc.events) {
					return 0, tc.end
				}
				i++
				return tc.events[i-1], nil
			}
			err := Receive("train", recv, func(ev int) (bool, error) {
				seen++
				switch ev {
				case 1:
					return true, nil
				case 2:
					return true, bad
				}
				return false, nil
			})
			if seen != tc.seen {
				t.Errorf("handle saw %d events, want %d", seen, tc.seen)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("err = %v, does not wrap %v", err, target)
				}
			}
		})
	}
}
