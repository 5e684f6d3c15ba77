//go:build linux && cgo

package runtime

/*
#include <malloc.h>
*/
import "C"

// mmapEveryTensor makes glibc's malloc map every allocation of at least
// bytes with mmap and unmap it on free. Its default threshold starts at
// 128 KB but rises to the size of each mapped block freed (up to 32 MB),
// after which freed tensors below that stay in the heap, resident and
// fragmented; fixed, memory goes back to the kernel when a tensor dies.
func mmapEveryTensor(bytes int) { C.mallopt(C.M_MMAP_THRESHOLD, C.int(bytes)) }
