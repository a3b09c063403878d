#include "train/distributed.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/cuda.h>
#include <torch/version.h>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <limits>

#include "common/error.h"
#include "ops/torch_compat.h"

namespace dnas {
namespace {

// The first line of an exception's message, without LibTorch's backtrace.
std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  const size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

int parse_int(const std::function<const char*(const char*)>& getenv, const char* name, int low, int high) {
  const char* text = getenv(name);
  DNAS_CHECK(text != nullptr && *text != '\0', name, " is not set");
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  DNAS_CHECK(*end == '\0' && value >= low && value <= high, name, "=", text, ": expected an integer in [", low, ", ",
             high, "]");
  return static_cast<int>(value);
}

bool has(const std::function<const char*(const char*)>& getenv, const char* name) {
  const char* text = getenv(name);
  return text != nullptr && *text != '\0';
}

}  // namespace

LaunchInfo read_launch_info(const std::function<const char*(const char*)>& getenv) {
  LaunchInfo info;
  constexpr int kMax = std::numeric_limits<int>::max();
  if (has(getenv, "RANK") || has(getenv, "WORLD_SIZE")) {
    info.launcher = "torchrun";
    info.world_size = parse_int(getenv, "WORLD_SIZE", 1, kMax);
    info.rank = parse_int(getenv, "RANK", 0, info.world_size - 1);
    info.local_world_size = has(getenv, "LOCAL_WORLD_SIZE") ? parse_int(getenv, "LOCAL_WORLD_SIZE", 1, info.world_size) : 1;
    info.local_rank = has(getenv, "LOCAL_RANK") ? parse_int(getenv, "LOCAL_RANK", 0, kMax) : 0;
    if (info.world_size > 1) {
      DNAS_CHECK(has(getenv, "MASTER_ADDR"), "MASTER_ADDR is not set (RANK and WORLD_SIZE are): the address of rank 0");
      info.master_addr = getenv("MASTER_ADDR");
      info.master_port = parse_int(getenv, "MASTER_PORT", 1, 65535);
    } else {
      if (has(getenv, "MASTER_ADDR")) info.master_addr = getenv("MASTER_ADDR");
      if (has(getenv, "MASTER_PORT")) info.master_port = parse_int(getenv, "MASTER_PORT", 1, 65535);
    }
  } else if (has(getenv, "OMPI_COMM_WORLD_RANK")) {
    info.launcher = "mpirun";
    info.world_size = parse_int(getenv, "OMPI_COMM_WORLD_SIZE", 1, kMax);
    info.rank = parse_int(getenv, "OMPI_COMM_WORLD_RANK", 0, info.world_size - 1);
    info.local_world_size = parse_int(getenv, "OMPI_COMM_WORLD_LOCAL_SIZE", 1, info.world_size);
    info.local_rank = parse_int(getenv, "OMPI_COMM_WORLD_LOCAL_RANK", 0, info.local_world_size - 1);
    const bool one_node = info.local_world_size == info.world_size;
    DNAS_CHECK(one_node || has(getenv, "MASTER_ADDR"),
               "MASTER_ADDR is not set and the mpirun ranks span several nodes: export it on every rank "
               "(mpirun -x MASTER_ADDR=<host of rank 0>)");
    if (has(getenv, "MASTER_ADDR")) info.master_addr = getenv("MASTER_ADDR");
    if (has(getenv, "MASTER_PORT")) info.master_port = parse_int(getenv, "MASTER_PORT", 1, 65535);
  } else if (has(getenv, "SLURM_PROCID") && has(getenv, "SLURM_NTASKS")) {
    info.launcher = "srun";
    info.world_size = parse_int(getenv, "SLURM_NTASKS", 1, kMax);
    info.rank = parse_int(getenv, "SLURM_PROCID", 0, info.world_size - 1);
    info.local_rank = has(getenv, "SLURM_LOCALID") ? parse_int(getenv, "SLURM_LOCALID", 0, kMax) : 0;
    // "2(x3),1" -> 2: the most tasks any node of this step runs.
    info.local_world_size = has(getenv, "SLURM_STEP_TASKS_PER_NODE")
                                ? std::max(1, std::atoi(getenv("SLURM_STEP_TASKS_PER_NODE")))
                                : info.world_size;
    const int nodes = has(getenv, "SLURM_STEP_NUM_NODES") ? parse_int(getenv, "SLURM_STEP_NUM_NODES", 1, kMax) : 1;
    DNAS_CHECK(nodes == 1 || has(getenv, "MASTER_ADDR"),
               "MASTER_ADDR is not set and the srun step spans ", nodes,
               " nodes: export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)");
    if (has(getenv, "MASTER_ADDR")) info.master_addr = getenv("MASTER_ADDR");
    if (has(getenv, "MASTER_PORT")) info.master_port = parse_int(getenv, "MASTER_PORT", 1, 65535);
  }
  DNAS_CHECK(info.local_rank < info.local_world_size || info.launcher.empty(), info.launcher, ": local rank ",
             info.local_rank, " is not below the local world size ", info.local_world_size);
  if (has(getenv, "DNAS_DIST_GROUP_OF_ONE")) info.group_of_one = parse_int(getenv, "DNAS_DIST_GROUP_OF_ONE", 0, 1) == 1;
  if (has(getenv, "DNAS_DIST_TIMEOUT"))
    info.timeout = std::chrono::seconds(parse_int(getenv, "DNAS_DIST_TIMEOUT", 1, 24 * 3600));
  return info;
}

LaunchInfo read_launch_info() {
  return read_launch_info([](const char* name) { return std::getenv(name); });
}

using compat::CommunicationGroup;

struct World::Group {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<CommunicationGroup> group;
  mutable int64_t sequence = 0;  // names the store keys of on_main / check_same calls
};

World::World() = default;
World::~World() = default;
World::World(World&&) noexcept = default;
World& World::operator=(World&&) noexcept = default;

std::string World::describe() const {
  if (!distributed()) return "single process";
  if (launcher_.empty()) return detail::concat("a group of one (", backend_, ")");
  return detail::concat("rank ", rank_, "/", size_, " (", launcher_, ", ", backend_, ")");
}

World World::join(const LaunchInfo& launch, const std::string& device) {
  World world;
  world.rank_ = launch.rank;
  world.size_ = launch.world_size;
  world.launcher_ = launch.launcher;
  const std::string me = detail::concat("rank ", launch.rank, "/", launch.world_size, ": ");
  if (device == "cuda") {
    const int gpus = static_cast<int>(torch::cuda::device_count());
    DNAS_CHECK(launch.local_world_size <= gpus && launch.local_rank < gpus, me, launch.local_world_size,
               " ranks on this node but it has ", gpus, " GPU", gpus == 1 ? "" : "s",
               ": launch one process per GPU (torchrun --nproc-per-node ", gpus, ")");
    world.device_ = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank));
  }
  if (launch.world_size == 1 && !launch.group_of_one) return world;

  world.group_ = std::make_unique<Group>();
  Group& g = *world.group_;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(launch.master_port);
    options.isServer = launch.rank == 0;
    options.numWorkers = static_cast<size_t>(launch.world_size);
    options.waitWorkers = true;
    options.timeout = launch.timeout;
    try {
      g.store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
    } catch (const std::exception& e) {
#if DNAS_TCPSTORE_LIBUV_OPTION
      // LibTorch 2.4+ serves the store through libuv by default, and a LibTorch built without
      // libuv (Debian's) refuses: serve it with the classic backend instead (torchrun's USE_LIBUV=0).
      if (!options.useLibUV || std::string(e.what()).find("libuv") == std::string::npos) throw;
      options.useLibUV = false;
      g.store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
#else
      throw;
#endif
    }
  } catch (const std::exception& e) {
    throw Error(detail::concat(me, "no rendezvous at MASTER_ADDR:MASTER_PORT = ", launch.master_addr, ":",
                               launch.master_port, " within ", launch.timeout.count() / 1000, " s (", first_line(e),
                               "); check that rank 0 runs and that this host can reach it"));
  }
  // Catch launch mistakes before the process group, whose own failure would be a timeout.
  DNAS_CHECK(g.store->add("dnas/rank/" + std::to_string(launch.rank), 1) == 1, me,
             "another process has the same rank: check RANK / the launcher's task count");
  world.check_same("the world size", std::to_string(launch.world_size));

  try {
    if (device == "cuda") {
#ifdef USE_C10D_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = launch.timeout;
      g.group = c10::make_intrusive<c10d::ProcessGroupNCCL>(g.store, launch.rank, launch.world_size, options);
      world.backend_ = "nccl";
#else
      throw Error(me + "this LibTorch was built without NCCL, so CUDA ranks cannot communicate");
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(launch.timeout);
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      if (interface != nullptr && *interface != '\0')
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      else if (launch.local_world_size == launch.world_size)
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      g.group = c10::make_intrusive<c10d::ProcessGroupGloo>(g.store, launch.rank, launch.world_size, options);
      world.backend_ = "gloo";
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(me + "cannot create the process group (" + first_line(e) + ")");
  }
  return world;
}

namespace {

template <typename F>
auto collective(int rank, int size, const char* what, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    throw Error(detail::concat("rank ", rank, "/", size, ": lost contact with the other ranks during ", what, " (",
                               first_line(e), "); another rank failed or was killed: see its output"));
  }
}

void wait_all(std::vector<c10::intrusive_ptr<c10d::Work>>& works) {
  for (auto& work : works) work->wait();
}

}  // namespace

std::function<void()> World::sum_async(at::Tensor tensor) const {
  if (!distributed()) return [] {};
  c10::intrusive_ptr<c10d::Work> work = collective(rank_, size_, "a gradient all-reduce", [&] {
    std::vector<at::Tensor> one{std::move(tensor)};
    return group_->group->allreduce(one);
  });
  return [work, rank = rank_, size = size_] {
    collective(rank, size, "a gradient all-reduce", [&] { return work->wait(); });
  };
}

void World::broadcast_from_main(const std::vector<at::Tensor>& tensors) const {
  if (!distributed() || tensors.empty()) return;
  collective(rank_, size_, "a broadcast from rank 0", [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (const at::Tensor& t : tensors) {
      std::vector<at::Tensor> one{t};
      works.push_back(group_->group->broadcast(one));
    }
    wait_all(works);
    return 0;
  });
}

std::vector<double> World::sum(std::vector<double> values) const {
  if (!distributed() || values.empty()) return values;
  at::Tensor t = at::tensor(values, at::kDouble).to(device_);
  collective(rank_, size_, "a metrics all-reduce", [&] {
    std::vector<at::Tensor> one{t};
    group_->group->allreduce(one)->wait();
    return 0;
  });
  t = t.cpu();
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

bool World::any(bool value) const {
  if (!distributed()) return value;
  return sum({value ? 1.0 : 0.0})[0] > 0;
}

double World::divergence(const std::vector<at::Tensor>& tensors) const {
  if (!distributed() || tensors.empty()) return 0;
  std::vector<at::Tensor> pieces;
  for (const at::Tensor& t : tensors) pieces.push_back(t.detach().reshape({-1}).to(at::kDouble));
  at::Tensor high = at::cat(pieces), low = high.clone();
  collective(rank_, size_, "the divergence check", [&] {
    std::vector<at::Tensor> a{high}, b{low};
    c10d::AllreduceOptions max, min;
    max.reduceOp = c10d::ReduceOp::MAX;
    min.reduceOp = c10d::ReduceOp::MIN;
    group_->group->allreduce(a, max)->wait();
    group_->group->allreduce(b, min)->wait();
    return 0;
  });
  return (high - low).max().item<double>();
}

void World::on_main(const std::function<void()>& work) const {
  if (!distributed()) return work();
  const std::string key = "dnas/on_main/" + std::to_string(group_->sequence++);
  if (is_main()) {
    std::string outcome = "ok";
    try {
      work();
    } catch (const std::exception& e) {
      outcome = first_line(e);
      group_->store->set(key, std::vector<uint8_t>(outcome.begin(), outcome.end()));
      throw;
    }
    group_->store->set(key, std::vector<uint8_t>(outcome.begin(), outcome.end()));
    return;
  }
  const std::vector<uint8_t> bytes =
      collective(rank_, size_, "a wait for rank 0", [&] { return group_->store->get(key); });
  const std::string outcome(bytes.begin(), bytes.end());
  DNAS_CHECK(outcome == "ok", "rank ", rank_, "/", size_, ": stopping because rank 0 failed: ", outcome);
}

void World::check_same(const std::string& what, const std::string& value) const {
  if (!distributed()) return;
  const std::string key = "dnas/same/" + std::to_string(group_->sequence++);
  if (is_main()) {
    group_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    return;
  }
  const std::vector<uint8_t> bytes = collective(rank_, size_, "a consistency check", [&] { return group_->store->get(key); });
  const std::string main_value(bytes.begin(), bytes.end());
  DNAS_CHECK(main_value == value, "rank ", rank_, "/", size_, ": ", what, " differs from rank 0's (here ", value,
             ", rank 0 ", main_value, "); start every rank with the same command");
}

}  // namespace dnas
