// The step loop every training run shares, the DNAS search (its w and theta phases) and
// `dnas train` alike: one phase of one epoch, step by step, with
//   - per-step seeds derived from (seed, epoch, phase, step), so a resumed run draws exactly what
//     an uninterrupted one would;
//   - the step's loss and hits summed on the device and read back only every `sync_every` steps
//     (one host sync per read; every step on a CPU, where a read costs nothing);
//   - a non-finite loss stopping the run with one line, leaving the last good checkpoint alone;
//   - Ctrl-C (seen by any rank) and periodic checkpoints at step boundaries;
// and the learning-rate schedule (linear warm-up, then cosine or linear decay).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "data/batch_loader.h"
#include "train/distributed.h"
#include "train/run_dir.h"

namespace dnas {

// A well-mixed 64-bit seed for one step of one phase of one epoch (step -1: the epoch's order).
uint64_t derive_seed(int64_t seed, int64_t epoch, int64_t phase, int64_t step);

// The running sums of one phase of an epoch on this rank: loss (sum of step means), top-1 hits,
// images seen, steps, and one sum the caller defines (the search: expected latency).
struct PhaseSums {
  double loss = 0, correct = 0, seen = 0, steps = 0, extra = 0;

  double mean_loss() const { return loss / std::max(1.0, steps); }
  double accuracy() const { return correct / std::max(1.0, seen); }
  double mean_extra() const { return extra / std::max(1.0, steps); }
  std::vector<double*> values() { return {&loss, &correct, &seen, &steps, &extra}; }
};

// What a step hands back, on the device, unread.
struct StepResult {
  at::Tensor loss;     // scalar: this step's mean loss
  at::Tensor correct;  // scalar: top-1 hits in the batch
  at::Tensor extra;    // scalar or undefined: added to PhaseSums::extra
};

// Step results summed on the device until they are read (one host sync per read).
class DeviceSums {
 public:
  explicit DeviceSums(const c10::Device& device);
  void add(const StepResult& result, int64_t batch);
  int64_t steps() const { return steps_; }
  // Moves the sums into `sums`; returns the mean loss of the steps read (NaN when there were none).
  double drain(PhaseSums& sums);

 private:
  at::Tensor sums_;
  int64_t seen_ = 0, steps_ = 0;
};

struct StepLoop {
  const World& world;
  const RunDir& run;
  std::string phase = "train";  // names the phase in messages ("w", "theta")
  int64_t sync_every = 1;
  int64_t checkpoint_every = 0;  // 0: no periodic checkpoints
  const std::atomic<bool>* interrupt = nullptr;
  std::string nan_advice = "Lower the learning rate";
};

// Runs steps `step` .. `steps` - 1 of one phase over `loader`, adding to `sums`. `on_read` sees the
// mean loss of the steps just read (for progress). `save` writes a checkpoint (with `sums` up to
// date) at periodic steps and on interrupt. Returns false when interrupted, after saving.
bool run_steps(const StepLoop& loop, int64_t epoch, BatchLoader& loader, int64_t& step, int64_t steps, PhaseSums& sums,
               const std::function<StepResult(const Batch& batch, int64_t step)>& run_step,
               const std::function<void(int64_t step, double mean_loss)>& on_read,
               const std::function<void()>& save);

// Throws the one-line error of a non-finite loss over steps first..last of `phase`.
void check_finite_loss(const StepLoop& loop, double mean_loss, int64_t epoch, const std::string& phase, int64_t first,
                       int64_t last);

// `sums` added over every rank (each rank sums its own shard).
PhaseSums summed_over(const World& world, PhaseSums sums);

// Linear warm-up over the first `warmup_epochs`, then cosine (or linear) decay from `base` to 0 at
// the end of `epochs`, at step `step` of `steps` in `epoch`.
double scheduled_learning_rate(double base, const std::string& decay, int64_t warmup_epochs, int64_t epochs,
                               int64_t epoch, int64_t step, int64_t steps);
// Sets the learning rate of every parameter group of an SGD optimizer.
void set_sgd_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace dnas
