package fault_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"whistlegrid/fault"
)

var (
	errNotFound = fault.New(fault.NotFound, "thing: not found")
	errInvalid  = fault.New(fault.Invalid, "thing: invalid")
	errGone     = fault.New(fault.NotFound, "thing: gone") // a second sentinel of the same kind
)

func TestError(t *testing.T) {
	cause := errors.New("connection reset")
	tests := []struct {
		name string
		err  *fault.Error
		text string
		kind fault.Kind
		is   []error // errors.Is is true for each
		isnt []error // and false for each
	}{
		{"sentinel", errNotFound, "thing: not found", fault.NotFound,
			[]error{errNotFound, fault.NotFound}, []error{errGone, errInvalid, fault.Invalid}},
		{"one of a sentinel", fault.Errorf(errNotFound, "no thing %d", 7), "thing: not found: no thing 7", fault.NotFound,
			[]error{errNotFound, fault.NotFound}, []error{errGone, fault.Conflict}},
		{"a field", fault.FieldErrorf(errInvalid, "grade", "grade must be %s", "routine"), "thing: invalid: grade: grade must be routine", fault.Invalid,
			[]error{errInvalid, fault.Invalid}, []error{errNotFound}},
		{"a cause", &fault.Error{Kind: fault.Conflict, Message: "exists", Err: cause}, "exists: connection reset", fault.Conflict,
			[]error{cause, fault.Conflict}, []error{errNotFound}},
		{"canceled", &fault.Error{Kind: fault.Internal, Message: "list", Err: context.Canceled}, "list: context canceled", fault.Internal,
			[]error{context.Canceled, fault.Internal}, []error{fault.Unavailable}},
		{"no message", &fault.Error{Kind: fault.TooMany}, "too_many_requests", fault.TooMany,
			[]error{fault.TooMany}, nil},
		{"made by New", fault.Newf(fault.Unavailable, "index %s", "loading"), "index loading", fault.Unavailable,
			[]error{fault.Unavailable}, []error{errNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			wrapped := fmt.Errorf("outer: %w", tt.err)
			var fe *fault.Error
			if !errors.As(wrapped, &fe) || fe != tt.err || fe.Kind != tt.kind {
				t.Errorf("errors.As through a wrapper: %v, want the error itself of kind %s", fe, tt.kind)
			}
			for _, target := range tt.is {
				if !errors.Is(wrapped, target) {
					t.Errorf("errors.Is(err, %v) = false, want true", target)
				}
			}
			for _, target := range tt.isnt {
				if errors.Is(wrapped, target) {
					t.Errorf("errors.Is(err, %v) = true, want false", target)
				}
			}
		})
	}
}

func TestKinds(t *testing.T) {
	seen := map[string]fault.Kind{}
	for _, k := range fault.Kinds() {
		code := k.String()
		if code == "" || (code == "internal") != (k == fault.Internal) {
			t.Errorf("kind %d has code %q", k, code)
		}
		if other, dup := seen[code]; dup {
			t.Errorf("kinds %d and %d share code %q", other, k, code)
		}
		seen[code] = k
	}
	if len(seen) != 11 {
		t.Errorf("%d kinds, want 11", len(seen))
	}
	if fault.Kind(200).String() != "internal" {
		t.Errorf("an unknown kind is %q, want internal", fault.Kind(200))
	}
}

func Example() {
	errNotFound := fault.New(fault.NotFound, "whistle: not found")
	err := fmt.Errorf("step: %w", fault.Errorf(errNotFound, "no whistle %d in your jurisdiction", 7))

	var fe *fault.Error
	if errors.As(err, &fe) {
		fmt.Println(fe.Kind, "-", fe.Message)
	}
	fmt.Println(errors.Is(err, errNotFound), errors.Is(err, fault.NotFound), errors.Is(err, fault.Forbidden))
	fmt.Println(err)
	// Output:
	// not_found - no whistle 7 in your jurisdiction
	// true true false
	// step: whistle: not found: no whistle 7 in your jurisdiction
}
