// The SGD update. The usual case is one tensor of each kind, the flat parameter, gradient and
// momentum buffers that every layer's tensors are views of (lib/nn/flatParameters.ts): then one
// kernel streams them once with 16-byte loads, which is what bounds it (momentum: 20 bytes per
// parameter, 1.22 GB for AlexNet's 61M, 0.25 ms at the H200's 4.8 TB/s). Separate tensors go
// through a multi-tensor kernel, as PyTorch's foreach/fused optimizers do: the tensors are cut into
// chunks of kChunk elements; one launch takes a by-value table of up to kMaxTensors tensors and
// kMaxBlocks chunks (well under the 4 KiB kernel-argument limit), one block per chunk.
//
// Both read the learning rate and the step count from the step scalars in device memory when they
// run, so a captured step uses the current values at every launch. The arithmetic is
// torch.optim.SGD's, written exactly as the CPU build's loop (native/cpu/sgd.cc) with no fused
// multiply-adds, so both builds give the same bits.
//
// Never run on a GPU so far (2026-11-29): the flat kernel and the scalars in device memory are new;
// test/gpu/sgd.test.ts and test/gpu/stepCapture.test.ts check them on the device.
#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

constexpr int kMaxTensors = 36;
constexpr int kMaxBlocks = 320;
constexpr int64_t kChunk = 65536;
constexpr int kSgdThreads = 512;
constexpr int kFlatThreads = 256;

struct SgdTable {
  float* param[kMaxTensors];
  const float* grad[kMaxTensors];
  float* buf[kMaxTensors];
  int64_t n[kMaxTensors];
  unsigned char tensor_of_block[kMaxBlocks];
  int chunk_of_block[kMaxBlocks];
};
static_assert(sizeof(SgdTable) < 4000, "kernel arguments must stay under 4 KiB");

struct SgdConsts {
  float momentum, dampening, weight_decay;
  bool nesterov, has_momentum;
};

// One element's update; `buf` is read and written only with momentum.
__device__ __forceinline__ float sgd_element(float param, float grad, float* buf, const SgdConsts& c, float lr,
                                             bool first_step) {
  float g = grad;
  if (c.weight_decay != 0.0f) g = __fadd_rn(g, __fmul_rn(c.weight_decay, param));
  if (c.has_momentum) {
    const float b = first_step ? g : __fadd_rn(__fmul_rn(c.momentum, *buf), __fmul_rn(__fsub_rn(1.0f, c.dampening), g));
    *buf = b;
    g = c.nesterov ? __fadd_rn(g, __fmul_rn(c.momentum, b)) : b;
  }
  return __fsub_rn(param, __fmul_rn(lr, g));
}

__global__ void sgd_kernel(SgdTable table, SgdConsts c, const SgdScalars* scalars) {
  const float lr = scalars->lr;
  const bool first_step = scalars->step == 0;
  const int t = table.tensor_of_block[blockIdx.x];
  const int64_t start = static_cast<int64_t>(table.chunk_of_block[blockIdx.x]) * kChunk;
  const int64_t n = table.n[t];
  const int64_t end = start + kChunk < n ? start + kChunk : n;
  float* param = table.param[t];
  const float* grad = table.grad[t];
  float* buf = table.buf[t];
  float unused = 0.0f;
  for (int64_t i = start + threadIdx.x; i < end; i += blockDim.x)
    param[i] = sgd_element(param[i], grad[i], c.has_momentum ? &buf[i] : &unused, c, lr, first_step);
}

// One pass over flat buffers: float4 loads and stores for the first n4 * 4 elements, then the rest
// (fewer than 4) one by one.
template <bool kMomentum>
__global__ void __launch_bounds__(kFlatThreads)
    sgd_flat_kernel(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ buf, int64_t n,
                    SgdConsts c, const SgdScalars* scalars) {
  const float lr = scalars->lr;
  const bool first_step = scalars->step == 0;
  const int64_t n4 = n / 4;
  float4* p4 = reinterpret_cast<float4*>(param);
  const float4* g4 = reinterpret_cast<const float4*>(grad);
  float4* b4 = reinterpret_cast<float4*>(buf);
  for (int64_t i = global_thread(); i < n4; i += grid_stride()) {
    float4 p = p4[i];
    const float4 g = g4[i];
    float4 b = kMomentum ? b4[i] : make_float4(0, 0, 0, 0);
    p.x = sgd_element(p.x, g.x, &b.x, c, lr, first_step);
    p.y = sgd_element(p.y, g.y, &b.y, c, lr, first_step);
    p.z = sgd_element(p.z, g.z, &b.z, c, lr, first_step);
    p.w = sgd_element(p.w, g.w, &b.w, c, lr, first_step);
    p4[i] = p;
    if (kMomentum) b4[i] = b;
  }
  for (int64_t i = n4 * 4 + global_thread(); i < n; i += grid_stride()) {
    float unused = 0.0f;
    param[i] = sgd_element(param[i], grad[i], kMomentum ? &buf[i] : &unused, c, lr, first_step);
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

void launch_sgd_step(cudaStream_t stream, const SgdParams& p, const std::vector<SgdSpan>& spans,
                     const SgdScalars* scalars) {
  const SgdConsts consts{p.momentum, p.dampening, p.weight_decay, p.nesterov, p.momentum != 0.0f};
  if (spans.size() == 1 && spans[0].n > 0 && aligned16(spans[0].param) && aligned16(spans[0].grad) &&
      (!consts.has_momentum || aligned16(spans[0].momentum_buffer))) {
    const SgdSpan& s = spans[0];
    const unsigned blocks = grid_for((s.n + 3) / 4, kFlatThreads);
    if (consts.has_momentum) {
      sgd_flat_kernel<true>
          <<<blocks, kFlatThreads, 0, stream>>>(s.param, s.grad, s.momentum_buffer, s.n, consts, scalars);
    } else {
      sgd_flat_kernel<false><<<blocks, kFlatThreads, 0, stream>>>(s.param, s.grad, nullptr, s.n, consts, scalars);
    }
    check_launch("sgd_flat_kernel");
    return;
  }
  SgdTable table{};
  int tensors = 0, blocks = 0;
  auto launch = [&] {
    if (blocks == 0) return;
    sgd_kernel<<<blocks, kSgdThreads, 0, stream>>>(table, consts, scalars);
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
