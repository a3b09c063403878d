#include "train/step_loop.h"

#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "common/error.h"

namespace dnas {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

DeviceSums::DeviceSums(const c10::Device& device)
    : sums_(at::zeros({3}, at::TensorOptions().dtype(at::kDouble).device(device))) {}

void DeviceSums::add(const StepResult& r, int64_t batch) {
  sums_[0].add_(r.loss.detach());
  sums_[1].add_(r.correct);
  if (r.extra.defined()) sums_[2].add_(r.extra.detach());
  seen_ += batch;
  ++steps_;
}

double DeviceSums::drain(PhaseSums& sums) {
  if (steps_ == 0) return std::nan("");
  const at::Tensor host = sums_.cpu();
  const double* v = host.data_ptr<double>();
  sums.loss += v[0], sums.correct += v[1], sums.extra += v[2];
  sums.seen += static_cast<double>(seen_), sums.steps += static_cast<double>(steps_);
  const double mean = v[0] / static_cast<double>(steps_);
  sums_.zero_();
  seen_ = steps_ = 0;
  return mean;
}

void check_finite_loss(const StepLoop& loop, double mean_loss, int64_t epoch, const std::string& phase, int64_t first,
                       int64_t last) {
  if (std::isfinite(mean_loss)) return;
  const bool saved = loop.run.has_checkpoint();
  if (!saved) loop.run.discard_unsaved();
  throw Error(detail::concat("loss is ", mean_loss, " at epoch ", epoch, " (", phase, " steps ", first, "-", last,
                             "); stopped without saving. ",
                             saved ? "The last good checkpoint is " + loop.run.checkpoint_path() + ". " +
                                         loop.nan_advice + " and start a new --out"
                                   : "No checkpoint was written yet, so the run directory is removed. " +
                                         loop.nan_advice + " and run again"));
}

uint64_t derive_seed(int64_t seed, int64_t epoch, int64_t phase, int64_t step) {
  return mix(mix(mix(mix(static_cast<uint64_t>(seed)) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(phase)) ^
             static_cast<uint64_t>(step));
}

bool run_steps(const StepLoop& loop, int64_t epoch, BatchLoader& loader, int64_t& step, int64_t steps, PhaseSums& sums,
               const std::function<StepResult(const Batch& batch, int64_t step)>& run_step,
               const std::function<void(int64_t step, double mean_loss)>& on_read,
               const std::function<void()>& save) {
  DeviceSums pending(loop.world.device());
  Batch batch;
  while (step < steps && loader.next(batch)) {
    pending.add(run_step(batch, step), batch.labels.size(0));
    ++step;
    const bool periodic = loop.checkpoint_every > 0 && step % loop.checkpoint_every == 0;
    if (step % loop.sync_every != 0 && step != steps && !periodic) continue;
    const int64_t first = step - pending.steps();
    const double mean_loss = pending.drain(sums);
    check_finite_loss(loop, mean_loss, epoch, loop.phase, first, step - 1);
    if (on_read) on_read(step, mean_loss);
    const bool stop = loop.world.any(loop.interrupt != nullptr && loop.interrupt->load());
    if (stop || periodic) save();
    if (stop) return false;
  }
  return true;
}

PhaseSums summed_over(const World& world, PhaseSums sums) {
  std::vector<double> values;
  for (double* v : sums.values()) values.push_back(*v);
  values = world.sum(values);
  size_t i = 0;
  for (double* v : sums.values()) *v = values[i++];
  return sums;
}

double scheduled_learning_rate(double base, const std::string& decay, int64_t warmup_epochs, int64_t epochs,
                               int64_t epoch, int64_t step, int64_t steps) {
  const double t = static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps);
  const double warmup = static_cast<double>(warmup_epochs);
  if (t < warmup) return base * (t + 1.0 / static_cast<double>(steps)) / warmup;
  const double progress = (t - warmup) / std::max(1e-9, static_cast<double>(epochs) - warmup);
  return decay == "linear" ? base * (1.0 - progress) : base * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void set_sgd_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

}  // namespace dnas
