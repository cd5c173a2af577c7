// The ops, one line each: ALEXNET_OP(name, jsName, (parameters), (arguments), (writes)). Grouped by
// stem: an op's code is in native/cpu/<stem>.cc and native/cuda/<stem>.* (see native/README.md).
// `writes` names the tensors the op writes, each as overwrite(t) (written whole: what it held
// before does not matter) or update(t) (read, then written, as dst += alpha * src); every other
// tensor is only read. From it the CPU queue knows what a failed op poisons (core/poison.h).
//
// This file is included several times, each time with its own ALEXNET_OP (and ALEXNET_TENSOR_OP,
// for the ops JavaScript calls as Tensor methods), and expands to:
//   core/backend.h      the Backend interface's pure virtual methods
//   cpu/backend_cpu.cc  the CPU backend: each op queued on the worker, calling cpu::<name>, and
//                       poisoning its writes when it fails
//   binding/ops.cc      the addon's exports: jsName runs the binding function <name>
// The CUDA backend overrides each method by hand (the compiler insists on every one).
//
// No include guard: it is meant to be included more than once.

#ifndef ALEXNET_TENSOR_OP
#define ALEXNET_TENSOR_OP ALEXNET_OP
#define ALEXNET_TENSOR_OP_DEFAULTED
#endif

// ---- elementwise: fills, scaled addition, products, copies ----------------------------------
ALEXNET_TENSOR_OP(fill, fill, (const Tensor& t, float value), (t, value), (overwrite(t)))
// Counter-based (Philox 4x32-10) random numbers: the same seed gives the same values on every backend.
ALEXNET_TENSOR_OP(fill_uniform, fillUniform, (const Tensor& t, float low, float high, uint64_t seed),
                  (t, low, high, seed), (overwrite(t)))
// truncation > 0 redraws values more than `truncation` standard deviations from the mean (see philox.h).
ALEXNET_TENSOR_OP(fill_normal, fillNormal, (const Tensor& t, float mean, float stddev, float truncation, uint64_t seed),
                  (t, mean, stddev, truncation, seed), (overwrite(t)))
// dst += alpha * src
ALEXNET_OP(add_scaled, addScaled, (const Tensor& dst, const Tensor& src, float alpha), (dst, src, alpha), (update(dst)))
// out = a * b elementwise (dropout's backward: dy * mask)
ALEXNET_OP(multiply, multiply, (const Tensor& a, const Tensor& b, const Tensor& out), (a, b, out), (overwrite(out)))
// dst = src, element for element (the shapes may differ; the element counts do not)
ALEXNET_OP(copy, copy, (const Tensor& dst, const Tensor& src), (dst, src), (overwrite(dst)))
// dst = src rounded to the nearest bfloat16 (ties to even), stored as fp32 (core/bfloat16.h); dst may
// be src. The bf16 precision mode's rounding points (lib/backend/precision.ts) call it.
ALEXNET_OP(round_to_bfloat16, roundToBfloat16, (const Tensor& dst, const Tensor& src), (dst, src), (overwrite(dst)))
// The unsigned 64-bit counter at int32 words [word, word + 1] of t += increment (a step scalar, see op_params.h)
ALEXNET_OP(advance_counter, advanceCounter, (const Tensor& t, int word, uint64_t increment), (t, word, increment),
           (update(t)))

// ---- conv2d: y = relu(conv(x) + b) when fuse_relu --------------------------------------------
ALEXNET_OP(conv2d_forward, conv2dForward,
           (const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
            bool fuse_relu),
           (g, x, w, b, y, fuse_relu), (overwrite(y)))
ALEXNET_OP(conv2d_backward_data, conv2dBackwardData,
           (const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx), (g, dy, w, dx),
           (overwrite(dx)))
ALEXNET_OP(conv2d_backward_filter, conv2dBackwardFilter,
           (const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db),
           (g, x, dy, dw, db), (overwrite(dw), overwrite(db)))

// ---- lrn: cross-channel local response normalization ------------------------------------------
ALEXNET_OP(lrn_forward, lrnForward, (const LrnParams& p, const Tensor& x, const Tensor& y), (p, x, y), (overwrite(y)))
ALEXNET_OP(lrn_backward, lrnBackward,
           (const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx),
           (p, x, y, dy, dx), (overwrite(dx)))

// ---- pool2d: max pooling and adaptive average pooling ------------------------------------------
ALEXNET_OP(max_pool2d_forward, maxPool2dForward, (const Pool2dGeometry& g, const Tensor& x, const Tensor& y), (g, x, y),
           (overwrite(y)))
// dx receives dy at the first maximum of each window (PyTorch's choice on ties).
ALEXNET_OP(max_pool2d_backward, maxPool2dBackward,
           (const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx),
           (g, x, y, dy, dx), (overwrite(dx)))
// The output size comes from y's shape; windows as PyTorch's AdaptiveAvgPool2d.
ALEXNET_OP(adaptive_avg_pool2d_forward, adaptiveAvgPool2dForward, (const Tensor& x, const Tensor& y), (x, y),
           (overwrite(y)))
ALEXNET_OP(adaptive_avg_pool2d_backward, adaptiveAvgPool2dBackward, (const Tensor& dy, const Tensor& dx), (dy, dx),
           (overwrite(dx)))

// ---- activation: ReLU (y = x <= 0 ? 0 : x, NaN passes) and softmax over rows -------------------
ALEXNET_OP(relu_forward, reluForward, (const Tensor& x, const Tensor& y), (x, y), (overwrite(y)))
// dx = y > 0 ? dy : 0
ALEXNET_OP(relu_backward, reluBackward, (const Tensor& y, const Tensor& dy, const Tensor& dx), (y, dy, dx),
           (overwrite(dx)))
ALEXNET_OP(softmax_forward, softmaxForward, (const Tensor& x, const Tensor& y), (x, y), (overwrite(y)))

// ---- dropout: inverted; mask = (u >= p) / (1 - p), u from Philox(seed, offset + index); y = x * mask
// seed and offset are read from `scalars` (DropoutScalars) when the op runs.
ALEXNET_OP(dropout_forward, dropoutForward,
           (float p, const Tensor& scalars, const Tensor& x, const Tensor& y, const Tensor& mask),
           (p, scalars, x, y, mask), (overwrite(y), overwrite(mask)))

// ---- linear: y[n, o] = sum_i x[n, i] w[o, i] + b[o]; y = relu(...) when fuse_relu --------------
ALEXNET_OP(linear_forward, linearForward,
           (const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu),
           (x, w, b, y, fuse_relu), (overwrite(y)))
ALEXNET_OP(linear_backward_data, linearBackwardData, (const Tensor& dy, const Tensor& w, const Tensor& dx), (dy, w, dx),
           (overwrite(dx)))
ALEXNET_OP(linear_backward_weight, linearBackwardWeight,
           (const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db), (x, dy, dw, db),
           (overwrite(dw), overwrite(db)))
// The epilogues of a Linear, ReLU, Linear sequence: the first layer's forward with bias and ReLU
// that also keeps the ReLU's mask (`mask`: relu_mask_words(N, out) int32 words, in the backend's
// own bit layout), and the second layer's backward-data product that applies that mask (ReLU's
// backward) and sums the first layer's bias gradient: dx = (dy w) * (z > 0), db = column sums of dx.
ALEXNET_OP(linear_forward_relu_mask, linearForwardReluMask,
           (const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mask), (x, w, b, y, mask),
           (overwrite(y), overwrite(mask)))
ALEXNET_OP(linear_backward_data_relu, linearBackwardDataRelu,
           (const Tensor& dy, const Tensor& w, const Tensor& mask, const Tensor& dx, const Tensor& db),
           (dy, w, mask, dx, db), (overwrite(dx), overwrite(db)))

// ---- loss: softmax cross-entropy and top-k counting ---------------------------------------------
// loss[0] = mean over the batch of -log softmax(logits)[label]; dlogits = (softmax - onehot) / N.
// An out-of-range label gives a NaN loss (and no out-of-bounds access).
ALEXNET_OP(softmax_cross_entropy, softmaxCrossEntropy,
           (const Tensor& logits, const Tensor& labels, const Tensor& loss, const OptTensor& dlogits),
           (logits, labels, loss, dlogits), (overwrite(loss), overwrite(dlogits)))
// counter[0] += number of rows whose label is among the k largest logits (ties counted against).
ALEXNET_OP(count_topk_correct, countTopkCorrect,
           (const Tensor& logits, const Tensor& labels, int k, const Tensor& counter), (logits, labels, k, counter),
           (update(counter)))

// ---- sgd: one update of every parameter tensor (torch.optim.SGD's arithmetic, see op_params.h) ---
// lr and the step count are read from `scalars` (SgdScalars) when the op runs. One tensor of each
// kind (the flat buffers every parameter is a view of) is the usual case: one pass over memory.
// update(tensors): each parameter and momentum buffer; the gradients and the scalars are read.
ALEXNET_OP(sgd_step, sgdStep, (const SgdParams& p, const std::vector<SgdTensors>& tensors, const Tensor& scalars),
           (p, tensors, scalars), (update(tensors)))

// ---- adam: one Adam or AdamW update of every parameter tensor (torch.optim.Adam's and AdamW's
// arithmetic, see op_params.h). lr and the step count are read from `scalars` (AdamScalars) when the
// op runs. update(tensors): each parameter and both moment buffers; the gradients and scalars are read.
ALEXNET_OP(adam_step, adamStep, (const AdamParams& p, const std::vector<AdamTensors>& tensors, const Tensor& scalars),
           (p, tensors, scalars), (update(tensors)))

// ---- preprocess: image bytes to a model's input (see PreprocessParams) ---------------------------
// x: uint8 [N, C, H, W]; y: float32 [N, C', OH, OW] with C' = C, or 3 from grey (C = 1). The resize
// to OH x OW (none when the size is unchanged) uses core/resample.h's tables, resize.ts's filter.
ALEXNET_OP(preprocess, preprocess, (const PreprocessParams& p, const Tensor& x, const Tensor& y), (p, x, y),
           (overwrite(y)))

#ifdef ALEXNET_TENSOR_OP_DEFAULTED
#undef ALEXNET_TENSOR_OP
#undef ALEXNET_TENSOR_OP_DEFAULTED
#endif
