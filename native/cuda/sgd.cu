// The SGD update over every parameter tensor in a handful of launches (a multi-tensor kernel, as
// PyTorch's foreach/fused optimizers do). The tensors are cut into chunks of kChunk elements; one
// launch takes a by-value table of up to kMaxTensors tensors and kMaxBlocks chunks (well under the
// 4 KiB kernel-argument limit), one block per chunk. The arithmetic is torch.optim.SGD's, written
// exactly as the CPU build's loop (native/cpu/sgd.cc) with no fused multiply-adds.
#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

constexpr int kMaxTensors = 36;
constexpr int kMaxBlocks = 320;
constexpr int64_t kChunk = 65536;
constexpr int kSgdThreads = 512;

struct SgdTable {
  float* param[kMaxTensors];
  const float* grad[kMaxTensors];
  float* buf[kMaxTensors];
  int64_t n[kMaxTensors];
  unsigned char tensor_of_block[kMaxBlocks];
  int chunk_of_block[kMaxBlocks];
};
static_assert(sizeof(SgdTable) < 4000, "kernel arguments must stay under 4 KiB");

struct SgdScalars {
  float lr, momentum, dampening, weight_decay;
  bool nesterov, first_step, has_momentum;
};

__global__ void sgd_kernel(SgdTable table, SgdScalars s) {
  const int t = table.tensor_of_block[blockIdx.x];
  const int64_t start = static_cast<int64_t>(table.chunk_of_block[blockIdx.x]) * kChunk;
  const int64_t n = table.n[t];
  const int64_t end = start + kChunk < n ? start + kChunk : n;
  float* param = table.param[t];
  const float* grad = table.grad[t];
  float* buf = table.buf[t];
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x) {
    float g = grad[i];
    if (s.weight_decay != 0.0f) g = __fadd_rn(g, __fmul_rn(s.weight_decay, param[i]));
    if (s.has_momentum) {
      const float b =
          s.first_step ? g : __fadd_rn(__fmul_rn(s.momentum, buf[i]), __fmul_rn(__fsub_rn(1.0f, s.dampening), g));
      buf[i] = b;
      g = s.nesterov ? __fadd_rn(g, __fmul_rn(s.momentum, b)) : b;
    }
    param[i] = __fsub_rn(param[i], __fmul_rn(s.lr, g));
  }
}

}  // namespace

void launch_sgd_step(cudaStream_t stream, const SgdParams& p, const std::vector<SgdSpan>& spans) {
  const SgdScalars scalars{p.lr, p.momentum, p.dampening, p.weight_decay, p.nesterov, p.first_step, p.momentum != 0.0f};
  SgdTable table{};
  int tensors = 0, blocks = 0;
  auto launch = [&] {
    if (blocks == 0) return;
    sgd_kernel<<<blocks, kSgdThreads, 0, stream>>>(table, scalars);
    check_launch("sgd_kernel");
    blocks = 0;
  };
  for (const SgdSpan& span : spans) {
    if (span.n <= 0) continue;
    const int64_t chunks = (span.n + kChunk - 1) / kChunk;
    int64_t chunk = 0;
    while (chunk < chunks) {
      // A fresh table entry for this tensor (again, if its chunks spill into the next launch).
      if (tensors == kMaxTensors) {
        launch();
        tensors = 0;
      }
      const int slot = tensors++;
      table.param[slot] = span.param;
      table.grad[slot] = span.grad;
      table.buf[slot] = span.momentum_buffer;
      table.n[slot] = span.n;
      while (chunk < chunks && blocks < kMaxBlocks) {
        table.tensor_of_block[blocks] = static_cast<unsigned char>(slot);
        table.chunk_of_block[blocks] = static_cast<int>(chunk);
        ++blocks;
        ++chunk;
      }
      if (blocks == kMaxBlocks) {
        launch();
        tensors = 0;
      }
    }
  }
  launch();
}

}  // namespace alexnet::cuda
