#include "train/gradient_reducer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/optim/optimizer.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "common/error.h"

namespace dnas {

namespace {

// DistributedDataParallel's defaults: a small first bucket, so communication starts early in the
// backward pass, then 25 MiB buckets. DNAS_BUCKET_MB (DDP's bucket_cap_mb) caps both.
constexpr int64_t kFirstBucketBytes = 1 << 20;
constexpr int64_t kBucketBytes = 25 << 20;

int64_t bucket_cap_from_environment() {
  const char* text = std::getenv("DNAS_BUCKET_MB");
  if (text == nullptr || *text == '\0') return kBucketBytes;
  char* end = nullptr;
  const double mb = std::strtod(text, &end);
  DNAS_CHECK(*end == '\0' && mb > 0, "DNAS_BUCKET_MB=", text, ": expected a positive number of MiB");
  return std::max<int64_t>(1, static_cast<int64_t>(mb * (1 << 20)));
}

}  // namespace

struct GradientReducer::State {
  struct Bucket {
    std::vector<size_t> params;        // indices into `params`, in bucket order
    std::vector<at::Tensor> grads;     // as the hooks deliver them
    size_t pending = 0;
    at::Tensor flat;
    std::function<void()> wait;
  };

  const World* world = nullptr;
  std::vector<at::Tensor> params;
  std::unordered_map<const void*, size_t> index;  // TensorImpl -> position in params
  bool active = false;                           // between prepare() and finish()
  std::vector<Bucket> buckets;
  std::vector<std::pair<size_t, size_t>> slot;   // param -> (bucket, position); bucket npos: not this step
  size_t next_bucket = 0;

  void on_gradient(size_t param, const at::Tensor& grad) {
    if (!active || slot[param].first == SIZE_MAX) return;
    Bucket& b = buckets[slot[param].first];
    if (b.grads[slot[param].second].defined()) return;  // a parameter used twice: its hook fires once per use
    b.grads[slot[param].second] = grad;
    if (--b.pending == 0) launch_ready();
  }

  // Launches every complete bucket from next_bucket on, in order.
  void launch_ready() {
    while (next_bucket < buckets.size() && buckets[next_bucket].pending == 0) launch(buckets[next_bucket++]);
  }

  void launch(Bucket& b) {
    std::vector<at::Tensor> pieces;
    for (size_t i = 0; i < b.params.size(); ++i) {
      const at::Tensor& g = b.grads[i];
      pieces.push_back(g.defined() ? g.reshape({-1}) : at::zeros({params[b.params[i]].numel()}, params[b.params[i]].options()));
    }
    b.flat = at::cat(pieces);
    b.wait = world->sum_async(b.flat);
  }
};

GradientReducer::GradientReducer(const World& world, std::vector<at::Tensor> params)
    : world_(world), bucket_cap_(bucket_cap_from_environment()), state_(std::make_shared<State>()) {
  state_->world = &world;
  state_->params = std::move(params);
  if (!world.distributed()) return;
  for (size_t i = 0; i < state_->params.size(); ++i) {
    at::Tensor& p = state_->params[i];
    state_->index[p.unsafeGetTensorImpl()] = i;
    std::weak_ptr<State> weak = state_;
    p.register_hook([weak, i](const at::Tensor& grad) {
      if (auto state = weak.lock()) state->on_gradient(i, grad);
    });
  }
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::prepare(const at::Tensor& loss) {
  if (!world_.distributed()) return;
  State& s = *state_;
  // The parameters this loss reaches: the AccumulateGrad leaves of its autograd graph.
  std::vector<bool> used(s.params.size(), false);
  std::unordered_set<const torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> stack;
  if (loss.grad_fn()) stack.push_back(loss.grad_fn().get());
  while (!stack.empty()) {
    torch::autograd::Node* node = stack.back();
    stack.pop_back();
    if (!seen.insert(node).second) continue;
    if (auto* leaf = dynamic_cast<torch::autograd::AccumulateGrad*>(node)) {
      auto it = s.index.find(leaf->variable.unsafeGetTensorImpl());
      if (it != s.index.end()) used[it->second] = true;
    }
    for (const auto& edge : node->next_edges())
      if (edge.function) stack.push_back(edge.function.get());
  }
  // Buckets over the used parameters, last registered first (backward's order).
  s.buckets.clear();
  s.slot.assign(s.params.size(), {SIZE_MAX, 0});
  int64_t bytes = 0;
  for (size_t k = s.params.size(); k-- > 0;) {
    if (!used[k]) continue;
    const int64_t size = s.params[k].numel() * static_cast<int64_t>(s.params[k].element_size());
    const int64_t cap = s.buckets.size() <= 1 ? std::min(kFirstBucketBytes, bucket_cap_) : bucket_cap_;
    if (s.buckets.empty() || (bytes + size > cap && !s.buckets.back().params.empty())) {
      s.buckets.emplace_back();
      bytes = 0;
    }
    State::Bucket& b = s.buckets.back();
    s.slot[k] = {s.buckets.size() - 1, b.params.size()};
    b.params.push_back(k);
    bytes += size;
  }
  for (State::Bucket& b : s.buckets) {
    b.grads.assign(b.params.size(), at::Tensor());
    b.pending = b.params.size();
  }
  s.next_bucket = 0;
  s.active = true;
}

void GradientReducer::finish() {
  if (!world_.distributed()) return;
  State& s = *state_;
  s.active = false;
  // A bucket whose parameters all fired has been launched; one with a parameter that received
  // no gradient after all goes now, with zeros in its place, in order.
  for (State::Bucket& b : s.buckets) b.pending = 0;
  s.launch_ready();
  const double scale = 1.0 / world_.size();
  for (State::Bucket& b : s.buckets) {
    b.wait();
    int64_t offset = 0;
    for (size_t i = 0; i < b.params.size(); ++i) {
      const at::Tensor& p = s.params[b.params[i]];
      const int64_t n = p.numel();
      if (p.grad().defined()) {
        at::Tensor grad = p.grad();
        grad.copy_(b.flat.narrow(0, offset, n).view_as(grad)).mul_(scale);
      }
      offset += n;
    }
  }
  s.buckets.clear();
}

namespace {

// Unsets every gradient: LibTorch optimisers skip parameters without one, so parameters that did
// not take part in a step (unsampled candidates) are not moved by stale momentum or weight decay.
void clear_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) p.mutable_grad() = torch::Tensor();
}

}  // namespace

void descend(const at::Tensor& loss, GradientReducer& reducer, torch::optim::Optimizer& optimizer) {
  clear_gradients(optimizer);
  reducer.prepare(loss);
  loss.backward();
  reducer.finish();  // the average over ranks, overlapped with backward
  optimizer.step();
}

}  // namespace dnas
