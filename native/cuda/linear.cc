// Fully connected layers with cuBLASLt.
//
// Tensors are row-major; cuBLAS is column-major. A row-major [r, c] matrix is, byte for byte, a
// column-major [c, r] matrix (its transpose) with leading dimension c. So with x [N, I], w [O, I],
// y [N, O] (row-major), writing X = xᵀ (I x N), W = wᵀ (I x O), Y = yᵀ (O x N) for the column-major
// views of the same memory:
//   forward          y = x wᵀ      ⇔  Y  = Wᵀ X     m = O, n = N, k = I   A = W (transposed), B = X
//   backward data    dx = dy w     ⇔  dX = W dY     m = I, n = N, k = O   A = W, B = dY
//   backward weight  dw = dyᵀ x    ⇔  dW = X dYᵀ    m = I, n = O, k = N   A = X, B = dY (transposed)
// The bias epilogue adds a vector of length m to every column of D: in the forward pass m = O, one
// value per output feature, which is what a linear layer's bias is.
//
// Math: fp32 uses CUBLAS_COMPUTE_32F (no TF32), tf32 CUBLAS_COMPUTE_32F_FAST_TF32. The algorithm is
// cuBLASLt's first heuristic choice for the shape, cached; cuBLAS gives the same bits from run to
// run for a fixed algorithm on one GPU. The bias gradient is a deterministic column sum
// (conv2d.cu) rather than the BGRADB epilogue, whose reduction order is not documented.
#include "linear.h"

#include <sstream>
#include <string>

#include "check.h"
#include "core/errors.h"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

// Owning wrappers: created by the constructor (throwing), destroyed without throwing.
struct MatmulDesc {
  cublasLtMatmulDesc_t handle = nullptr;
  MatmulDesc(cublasComputeType_t compute) { CUBLAS_CHECK(cublasLtMatmulDescCreate(&handle, compute, CUDA_R_32F)); }
  ~MatmulDesc() {
    if (handle) cublasLtMatmulDescDestroy(handle);
  }
  template <typename T>
  void set(cublasLtMatmulDescAttributes_t attribute, const T& value) {
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(handle, attribute, &value, sizeof(value)));
  }
};

struct MatrixLayout {
  cublasLtMatrixLayout_t handle = nullptr;
  MatrixLayout(int64_t rows, int64_t cols, int64_t ld) {
    CUBLAS_CHECK(
        cublasLtMatrixLayoutCreate(&handle, CUDA_R_32F, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld));
  }
  ~MatrixLayout() {
    if (handle) cublasLtMatrixLayoutDestroy(handle);
  }
};

struct Preference {
  cublasLtMatmulPreference_t handle = nullptr;
  Preference() { CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&handle)); }
  ~Preference() {
    if (handle) cublasLtMatmulPreferenceDestroy(handle);
  }
};

cublasLtEpilogue_t lt_epilogue(LinearEngine::Epilogue e) {
  switch (e) {
    case LinearEngine::Epilogue::bias:
      return CUBLASLT_EPILOGUE_BIAS;
    case LinearEngine::Epilogue::relu:
      return CUBLASLT_EPILOGUE_RELU;
    case LinearEngine::Epilogue::relu_bias:
      return CUBLASLT_EPILOGUE_RELU_BIAS;
    case LinearEngine::Epilogue::relu_aux_bias:
      return CUBLASLT_EPILOGUE_RELU_AUX_BIAS;
    case LinearEngine::Epilogue::drelu_bgrad:
      return CUBLASLT_EPILOGUE_DRELU_BGRAD;
    default:
      return CUBLASLT_EPILOGUE_DEFAULT;
  }
}

}  // namespace

struct LinearEngine::Plan {
  Plan(cublasComputeType_t compute, int64_t m, int64_t n, int64_t k, bool ta, bool tb)
      : desc(compute), a(ta ? k : m, ta ? m : k, ta ? k : m), b(tb ? n : k, tb ? k : n, tb ? n : k), d(m, n, m) {}
  MatmulDesc desc;
  MatrixLayout a, b, d;
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
  bool has_bias = false;
  bool has_aux = false;
};

namespace {
// The ReLU bit mask's leading dimension: D's rows rounded up to 128 bits (cuBLASLt's rule; the
// mask tensor's size, shapes::relu_mask_words, follows it).
int64_t mask_ld(int64_t rows) { return (rows + 127) / 128 * 128; }
}  // namespace

LinearEngine::LinearEngine(CudaContext& ctx) : ctx_(ctx) {}
LinearEngine::~LinearEngine() = default;

LinearEngine::Plan& LinearEngine::plan_for(int64_t m, int64_t n, int64_t k, bool transpose_a, bool transpose_b,
                                           Epilogue epilogue) {
  const Key key{
      m, n, k, transpose_a, transpose_b, static_cast<int64_t>(epilogue), static_cast<int64_t>(ctx_.math_mode)};
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;

  const cublasComputeType_t compute =
      ctx_.math_mode == MathMode::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  auto p = std::make_unique<Plan>(compute, m, n, k, transpose_a, transpose_b);
  p->desc.set(CUBLASLT_MATMUL_DESC_TRANSA, transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N);
  p->desc.set(CUBLASLT_MATMUL_DESC_TRANSB, transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N);
  p->desc.set(CUBLASLT_MATMUL_DESC_EPILOGUE, lt_epilogue(epilogue));
  p->has_bias = epilogue == Epilogue::bias || epilogue == Epilogue::relu_bias || epilogue == Epilogue::relu_aux_bias ||
                epilogue == Epilogue::drelu_bgrad;
  if (p->has_bias) p->desc.set(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_32F);
  p->has_aux = epilogue == Epilogue::relu_aux_bias || epilogue == Epilogue::drelu_bgrad;
  if (p->has_aux) p->desc.set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, mask_ld(m));

  Preference pref;
  const uint64_t max_workspace = kMatmulWorkspaceBytes;
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref.handle, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                    &max_workspace, sizeof(max_workspace)));
  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(ctx_.cublaslt(), p->desc.handle, p->a.handle, p->b.handle, p->d.handle,
                                              p->d.handle, pref.handle, 1, &result, &count));
  if (count < 1 || result.state != CUBLAS_STATUS_SUCCESS) {
    std::ostringstream msg;
    msg << "cuBLASLt found no algorithm for the matrix product m=" << m << " n=" << n << " k=" << k
        << (transpose_a ? " A transposed" : "") << (transpose_b ? " B transposed" : "") << " epilogue "
        << static_cast<int>(epilogue) << " (" << (ctx_.math_mode == MathMode::tf32 ? "tf32" : "fp32") << ")";
    throw BackendError(msg.str());
  }
  p->algo = result.algo;
  p->workspace = result.workspaceSize;
  Plan& plan = *p;
  plans_.emplace(key, std::move(p));
  return plan;
}

void LinearEngine::run(Plan& p, const float* a, const float* b, float* d, const float* bias, void* aux) {
  if (p.has_bias) p.desc.set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  if (p.has_aux) p.desc.set(CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux);
  void* ws = ctx_.workspace(p.workspace);
  CUBLAS_CHECK(cublasLtMatmul(ctx_.cublaslt(), p.desc.handle, &kOne, a, p.a.handle, b, p.b.handle, &kZero, d,
                              p.d.handle, d, p.d.handle, &p.algo, ws, p.workspace, ctx_.stream()));
}

void LinearEngine::forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu) {
  const int64_t batch = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (y.numel() == 0) return;
  if (in == 0) {  // an empty sum: y is the bias (or zero)
    launch_fill_f32(ctx_.stream(), y.f32(), y.numel(), 0.0f);
    launch_bias_relu(ctx_.stream(), y.f32(), b ? b->f32() : nullptr, batch, out, 1, fuse_relu);
    return;
  }
  const Epilogue e =
      b ? (fuse_relu ? Epilogue::relu_bias : Epilogue::bias) : (fuse_relu ? Epilogue::relu : Epilogue::none);
  Plan& p = plan_for(out, batch, in, /*transpose_a=*/true, /*transpose_b=*/false, e);
  run(p, w.f32(), x.f32(), y.f32(), b ? b->f32() : nullptr);
}

void LinearEngine::backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  const int64_t batch = dy.dim(0), out = dy.dim(1), in = w.dim(1);
  if (dx.numel() == 0) return;
  if (out == 0) {
    launch_fill_f32(ctx_.stream(), dx.f32(), dx.numel(), 0.0f);
    return;
  }
  Plan& p = plan_for(in, batch, out, /*transpose_a=*/false, /*transpose_b=*/false, Epilogue::none);
  run(p, w.f32(), dy.f32(), dx.f32(), nullptr);
}

void LinearEngine::backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db) {
  const int64_t batch = x.dim(0), in = x.dim(1), out = dy.dim(1);
  if (db) launch_channel_sum(ctx_.stream(), dy.f32(), batch, out, 1, db->f32());  // column sums of dy
  if (dw.numel() == 0) return;
  if (batch == 0) {
    launch_fill_f32(ctx_.stream(), dw.f32(), dw.numel(), 0.0f);
    return;
  }
  Plan& p = plan_for(in, out, batch, /*transpose_a=*/false, /*transpose_b=*/true, Epilogue::none);
  run(p, x.f32(), dy.f32(), dw.f32(), nullptr);
}

// Never run on a GPU so far (2026-11-29); test/gpu/linear.test.ts compares both with the unfused
// ops. cuBLASLt documents DRELU_BGRAD's bias gradient as the sum over the batch of the ReLU
// gradient it stores, the bias gradient of the layer whose ReLU made the mask, which is what the
// op promises; the device test checks it.
void LinearEngine::forward_relu_mask(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                                     const Tensor& mask) {
  const int64_t batch = x.dim(0), in = x.dim(1), out = w.dim(0);
  Plan& p = plan_for(out, batch, in, /*transpose_a=*/true, /*transpose_b=*/false, Epilogue::relu_aux_bias);
  run(p, w.f32(), x.f32(), y.f32(), b.f32(), mask.data());
}

void LinearEngine::backward_data_relu(const Tensor& dy, const Tensor& w, const Tensor& mask, const Tensor& dx,
                                      const Tensor& db) {
  const int64_t batch = dy.dim(0), out = dy.dim(1), in = w.dim(1);
  Plan& p = plan_for(in, batch, out, /*transpose_a=*/false, /*transpose_b=*/false, Epilogue::drelu_bgrad);
  run(p, w.f32(), dy.f32(), dx.f32(), db.f32(), mask.data());
}

}  // namespace alexnet::cuda
