// For the selftest only: a kernel that writes through an invalid pointer, to check that the
// backend turns the resulting sticky error into DeviceLostError.
#include <cuda_runtime.h>

__global__ void illegal_address_kernel(float* p) { p[threadIdx.x] = 1.0f; }

void launch_illegal_address_kernel() { illegal_address_kernel<<<1, 32>>>(reinterpret_cast<float*>(0x10)); }
