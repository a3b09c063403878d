// Data-parallel search and training over c10d, the communication layer PyTorch's own
// DistributedDataParallel uses: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, then
// ProcessGroupGloo for CPU tensors or ProcessGroupNCCL for CUDA tensors (when LibTorch was built
// with NCCL). One process per GPU; LOCAL_RANK picks the device.
//
// The launcher is read from the environment:
//   torchrun (--no-python): RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
//   srun:                   SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_STEP_TASKS_PER_NODE,
//                           SLURM_STEP_NUM_NODES (+ MASTER_ADDR when the step spans nodes)
//   mpirun (Open MPI):      OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK,
//                           OMPI_COMM_WORLD_LOCAL_SIZE (+ MASTER_ADDR when ranks span nodes)
// MASTER_PORT defaults to 29500 for srun and mpirun. No launcher variables, or a world of one,
// means a single process that never touches c10d, unless DNAS_DIST_GROUP_OF_ONE=1: then a world
// of one makes its process group too (NCCL on one GPU, Gloo on a CPU) and runs every collective
// through it, which is how a single GPU tests the multi-GPU code path. DNAS_DIST_TIMEOUT (seconds, default 300)
// bounds the rendezvous and every collective: a rank that cannot reach MASTER_ADDR, or whose
// peers stop answering, fails with a message instead of hanging. A rank that dies closes its
// connections, so the others fail at their next collective, well before the timeout.
//
// Every failure is a dnas::Error whose message starts with "rank R/N:".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace dnas {

struct LaunchInfo {
  std::string launcher;  // "" (single process), "torchrun", "srun" or "mpirun"
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::milliseconds timeout{300000};
  bool group_of_one = false;  // DNAS_DIST_GROUP_OF_ONE=1: a world of one still makes a process group
};

// Reads and validates the launcher variables through `getenv` (injectable for tests). Missing or
// inconsistent variables throw dnas::Error naming them.
LaunchInfo read_launch_info(const std::function<const char*(const char*)>& getenv);
LaunchInfo read_launch_info();

class World {
 public:
  World();  // a single process
  ~World();
  World(World&&) noexcept;
  World& operator=(World&&) noexcept;

  // Rendezvous with the other ranks and create the process group for `device` ("cpu" or "cuda").
  // A world of one returns a single-process World. For cuda, checks that this node has a GPU
  // for every local rank.
  static World join(const LaunchInfo& launch, const std::string& device);

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_main() const { return rank_ == 0; }
  // True when collectives go through c10d: several ranks, or a group of one.
  bool distributed() const { return group_ != nullptr; }
  // cpu, or cuda:LOCAL_RANK.
  c10::Device device() const { return device_; }
  std::string describe() const;  // "rank 1/4 (torchrun, gloo)" or "single process"

  // Starts summing `tensor` over the ranks in place; the returned function waits for the result
  // (GradientReducer in train/gradient_reducer.h overlaps these with the backward pass).
  std::function<void()> sum_async(at::Tensor tensor) const;
  // Overwrites `tensors` on every rank with rank 0's values (e.g. BatchNorm running statistics,
  // which each rank gathers on its own shard, before an evaluation).
  void broadcast_from_main(const std::vector<at::Tensor>& tensors) const;
  // Element-wise sums over the ranks.
  std::vector<double> sum(std::vector<double> values) const;
  // True on every rank if it is true on any (an interrupt seen by one rank stops all).
  bool any(bool value) const;
  // max over ranks minus min over ranks, largest over all elements of `tensors`: 0 when the ranks
  // agree exactly.
  double divergence(const std::vector<at::Tensor>& tensors) const;
  // Rank 0 runs `work` (writing files, checking a run directory); the others wait for it and
  // fail with rank 0's message if it failed, instead of waiting for a collective to time out.
  void on_main(const std::function<void()>& work) const;
  // Fails on every rank whose `value` differs from rank 0's (e.g. the flags it was started with).
  void check_same(const std::string& what, const std::string& value) const;

 private:
  struct Group;
  int rank_ = 0, size_ = 1;
  std::string launcher_, backend_;
  c10::Device device_{c10::kCPU};
  std::unique_ptr<Group> group_;
};

}  // namespace dnas
