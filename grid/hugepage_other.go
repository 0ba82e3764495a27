//go:build !linux

package grid

// ixMake returns make([]T, n, c); on Linux it also asks for huge pages.
func ixMake[T any](n, c int) []T { return make([]T, n, c) }
