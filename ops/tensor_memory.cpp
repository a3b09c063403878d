#include "ops/tensor_memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include "ops/torch_compat.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace dnas {
namespace {

std::atomic<int64_t> current{0};
std::atomic<int64_t> peak{0};
std::mutex sizes_mutex;
std::unordered_map<void*, int64_t> sizes;  // live allocation -> bytes
c10::DeleterFnPtr wrapped_deleter = nullptr;

// Data and context are the same pointer (LibTorch's raw_allocate requires it), so the size
// lives in a side table.
void release(void* data) {
  {
    std::lock_guard<std::mutex> lock(sizes_mutex);
    auto it = sizes.find(data);
    if (it != sizes.end()) {
      current.fetch_sub(it->second);
      sizes.erase(it);
    }
  }
  wrapped_deleter(data);
}

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* wrapped) : wrapped_(wrapped) {}
  c10::DataPtr allocate(size_t n) DNAS_ALLOCATE_CONST override {
    c10::DataPtr inner = wrapped_->allocate(n);
    void* data = inner.get();
    const c10::Device device = inner.device();
    inner.release_context();  // ownership moves to release()
    const auto bytes = static_cast<int64_t>(n);
    {
      std::lock_guard<std::mutex> lock(sizes_mutex);
      sizes[data] = bytes;
    }
    const int64_t now = current.fetch_add(bytes) + bytes;
    int64_t seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    return {data, data, &release, device};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
#if DNAS_ALLOCATOR_NEEDS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

 private:
  c10::Allocator* wrapped_;
};

}  // namespace

void CpuTensorMemory::install() {
  static CountingAllocator* allocator = [] {
    c10::Allocator* original = c10::GetCPUAllocator();
    wrapped_deleter = original->raw_deleter();
    if (wrapped_deleter == nullptr) return static_cast<CountingAllocator*>(nullptr);  // cannot wrap: count nothing
    auto* a = new CountingAllocator(original);
    c10::SetCPUAllocator(a, /*priority=*/100);
    return a;
  }();
  (void)allocator;
}

int64_t CpuTensorMemory::current_bytes() { return current.load(); }
int64_t CpuTensorMemory::peak_bytes() { return peak.load(); }
void CpuTensorMemory::reset_peak() { peak.store(current.load()); }

}  // namespace dnas
