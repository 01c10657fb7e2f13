#include "train/distributed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>

// ProcessGroupGloo.hpp declares its class only under this macro (LibTorch's own
// build defines it); Debian's LibTorch is built with Gloo (libgloo-dev has its headers).
#ifndef DROPLORA_NO_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#include <torch/torch.h>

#include "common/error.h"

namespace droplora::train {

namespace {

// A variable of torchrun's contract as an integer in [lo, hi]; `fallback` when unset.
int env_int(const char* name, int fallback, int lo, int hi) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
        fail(name, std::string("'") + v + "' is not an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       "] (torchrun's environment: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, "
                       "MASTER_PORT)");
    return static_cast<int>(n);
}

[[maybe_unused]] std::string message_of(const std::exception& e) {
    if (auto* ce = dynamic_cast<const c10::Error*>(&e)) return ce->what_without_backtrace();
    return e.what();
}

[[maybe_unused]] bool is_loopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

#ifndef DROPLORA_NO_GLOO
// Every rank adds one to a counter in the store, then waits until it reads WORLD_SIZE: the
// rendezvous, counted here rather than inside TCPStore so that rank 0 can give up on request.
void wait_for_every_rank(c10d::Store& store, const World& world, std::chrono::seconds timeout,
                         const std::function<bool()>& cancelled) {
    const std::string at = world.master_addr + ":" + std::to_string(world.master_port);
    int64_t joined = 0;
    try {
        joined = store.add("droplora/joined", 1);
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (joined < world.size) {
            if (cancelled && cancelled())
                fail(at, "stopped while waiting for the other processes (" + std::to_string(joined) + " of " +
                             std::to_string(world.size) + " had joined)");
            if (std::chrono::steady_clock::now() > deadline)
                fail(at, std::to_string(joined) + " of " + std::to_string(world.size) +
                             " processes joined within distributed.timeout_s = " + std::to_string(timeout.count()) +
                             " s (did every rank start, with the same MASTER_ADDR:MASTER_PORT and WORLD_SIZE?)");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            joined = store.add("droplora/joined", 0);
        }
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        fail(at, "the rendezvous failed: " + message_of(e));
    }
    if (joined > world.size)
        fail(at, std::to_string(joined) + " processes joined a rendezvous for WORLD_SIZE " + std::to_string(world.size) +
                     " (two runs on one MASTER_PORT?)");
}
#endif

}  // namespace

World world_from_environment() {
    World w;
    const bool has_rank = std::getenv("RANK") != nullptr, has_size = std::getenv("WORLD_SIZE") != nullptr;
    if (!has_rank && !has_size) return w;
    if (!has_rank || !has_size)
        fail(has_rank ? "WORLD_SIZE" : "RANK", "not set while " + std::string(has_rank ? "RANK" : "WORLD_SIZE") +
                                                   " is: a distributed launch sets both (torchrun does)");
    w.size = env_int("WORLD_SIZE", 1, 1, 1 << 16);
    w.rank = env_int("RANK", 0, 0, w.size - 1);
    w.local_size = env_int("LOCAL_WORLD_SIZE", w.size, 1, w.size);
    w.local_rank = env_int("LOCAL_RANK", w.rank % w.local_size, 0, w.local_size - 1);
    if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') w.master_addr = a;
    else if (w.size > 1) fail("MASTER_ADDR", "not set: the address of rank 0 (torchrun sets it; 127.0.0.1 on one machine)");
    w.master_port = env_int("MASTER_PORT", 0, 1, 65535);
    if (w.master_port == 0 && w.size > 1) fail("MASTER_PORT", "not set: the port rank 0 serves the rendezvous on");
    return w;
}

int free_loopback_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("MASTER_PORT", std::string("cannot open a socket to find a free port: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const std::string why = std::strerror(errno);
        close(fd);
        fail("MASTER_PORT", "cannot find a free local port: " + why);
    }
    close(fd);
    return ntohs(addr.sin_port);
}

std::string device_for_rank(const World& world, const std::string& device) {
    if (world.distributed() && (device == "auto" || device == "cuda") && torch::cuda::is_available())
        return "cuda:" + std::to_string(world.local_rank);
    return device;
}

std::string rank_prefix(const World& world) {
    if (!world.distributed()) return "";
    return "rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + ": ";
}

#ifdef DROPLORA_NO_GLOO
// Built without Gloo's headers (backend/CMakeLists.txt): one process only.
struct ProcessGroup::Impl {
    World world;
    std::string backend = "none";
};
ProcessGroup::ProcessGroup(const World&, const std::string&, const std::string&, std::chrono::seconds,
                           const std::function<bool()>&) {
    fail("WORLD_SIZE", "this build has no data-parallel training (it was built without Gloo's headers, Debian's "
                       "libgloo-dev); install it and rebuild, or train in one process");
}
ProcessGroup::~ProcessGroup() = default;
const World& ProcessGroup::world() const { return impl_->world; }
const std::string& ProcessGroup::backend() const { return impl_->backend; }
void ProcessGroup::all_reduce_sum(const std::vector<at::Tensor>&, const std::string&) {}
void ProcessGroup::broadcast(const std::vector<at::Tensor>&, const std::string&) {}
void ProcessGroup::require_same(const std::string&, const std::string&, const std::string&) {}
#else
struct ProcessGroup::Impl {
    World world;
    std::string backend;
    std::chrono::seconds timeout{600};
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;

    // The trainer puts "rank R of N: " before every message of a worker.
    [[noreturn]] void lost(const std::string& what, const std::exception& e) const {
        fail("process group", "lost the other processes during " + what + ": " + message_of(e) +
                          " (a rank exited or was killed, or waited more than distributed.timeout_s = " +
                          std::to_string(timeout.count()) + " s; the other ranks' messages say which)");
    }
};

ProcessGroup::ProcessGroup(const World& world, const std::string& backend, const std::string& device,
                           std::chrono::seconds timeout, const std::function<bool()>& cancelled)
    : impl_(std::make_unique<Impl>()) {
    impl_->world = world;
    impl_->timeout = timeout;
    if (backend == "nccl")
        fail("distributed.backend", "nccl: this build's LibTorch has no NCCL; use gloo (it reduces CUDA tensors too)");
    (void)device;  // Gloo serves CPU and CUDA tensors alike
    impl_->backend = "gloo";

    const std::string at = world.master_addr + ":" + std::to_string(world.master_port);
    try {
        c10d::TCPStoreOptions o;
        o.port = static_cast<std::uint16_t>(world.master_port);
        o.isServer = world.rank == 0;
        o.numWorkers = static_cast<std::size_t>(world.size);
        o.waitWorkers = false;  // counted below, where a cancel can be heard
        o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
        impl_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, o);
    } catch (const std::exception& e) {
        const std::string m = message_of(e);
        if (world.rank == 0 && m.find("in use") != std::string::npos)
            fail("MASTER_PORT", std::to_string(world.master_port) + " is in use on this machine (another run, or "
                                "another program); choose a free MASTER_PORT");
        fail(at, "the rendezvous failed: " + m +
                     (world.rank == 0 ? "" : " (is rank 0 running, and MASTER_ADDR:MASTER_PORT its address?)"));
    }
    wait_for_every_rank(*impl_->store, world, timeout, cancelled);
    try {
        auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
        if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
        else if (is_loopback(world.master_addr))
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, world.rank, world.size, options);
        // Every rank is here: the group's first collective doubles as the barrier of the rendezvous.
        std::vector<at::Tensor> one{torch::ones({1})};
        impl_->gloo->allreduce(one)->wait();
        if (one[0].item<float>() != static_cast<float>(world.size))
            fail(at, "the process group counted " + std::to_string(one[0].item<float>()) +
                         " ranks, not WORLD_SIZE " + std::to_string(world.size));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        fail(at, "forming the process group of " + std::to_string(world.size) +
                     " ranks failed: " + message_of(e));
    }
}

ProcessGroup::~ProcessGroup() = default;

const World& ProcessGroup::world() const { return impl_->world; }
const std::string& ProcessGroup::backend() const { return impl_->backend; }

namespace {

// The tensors packed into flat buffers per (dtype, device), of at most kBucketBytes (a tensor larger than
// that goes alone), `collective` run on each buffer and the result copied back: a step's many small
// gradients or masks are one collective, and full fine-tuning's weights never need a second model's memory.
constexpr int64_t kBucketBytes = int64_t{64} << 20;

template <typename Collective>
void packed(const std::vector<at::Tensor>& tensors, Collective&& collective) {
    std::map<std::tuple<int, int, int>, std::vector<std::vector<at::Tensor>>> buckets;
    std::map<std::tuple<int, int, int>, int64_t> filled;
    for (const auto& t : tensors) {
        const auto d = t.device();
        const std::tuple<int, int, int> key{static_cast<int>(t.scalar_type()), static_cast<int>(d.type()),
                                            d.has_index() ? d.index() : -1};
        auto& list = buckets[key];
        const int64_t bytes = t.numel() * static_cast<int64_t>(t.element_size());
        if (list.empty() || filled[key] + bytes > kBucketBytes) {
            list.emplace_back();
            filled[key] = 0;
        }
        list.back().push_back(t);
        filled[key] += bytes;
    }
    torch::NoGradGuard no_grad;
    for (auto& [key, list] : buckets) {
        for (auto& bucket : list) {
            std::vector<at::Tensor> flat_parts;
            for (const auto& t : bucket) flat_parts.push_back(t.detach().reshape({-1}));
            std::vector<at::Tensor> buffer{torch::cat(flat_parts)};
            collective(buffer);
            int64_t offset = 0;
            for (auto& t : bucket) {
                const int64_t n = t.numel();
                t.copy_(buffer[0].narrow(0, offset, n).view(t.sizes()));
                offset += n;
            }
        }
    }
}

}  // namespace

void ProcessGroup::all_reduce_sum(const std::vector<at::Tensor>& tensors, const std::string& what) {
    try {
        packed(tensors, [&](std::vector<at::Tensor>& buffer) { impl_->gloo->allreduce(buffer)->wait(); });
    } catch (const std::exception& e) {
        impl_->lost(what, e);
    }
}

void ProcessGroup::broadcast(const std::vector<at::Tensor>& tensors, const std::string& what) {
    try {
        packed(tensors, [&](std::vector<at::Tensor>& buffer) { impl_->gloo->broadcast(buffer)->wait(); });
    } catch (const std::exception& e) {
        impl_->lost(what, e);
    }
}

void ProcessGroup::require_same(const std::string& key, const std::string& value, const std::string& what) {
    const World& w = impl_->world;
    std::vector<int> differ;
    try {
        const std::string prefix = "droplora/" + key + "/";
        impl_->store->set(prefix + std::to_string(w.rank), std::vector<uint8_t>(value.begin(), value.end()));
        const std::vector<uint8_t> first = impl_->store->get(prefix + "0");
        for (int r = 1; r < w.size; ++r) {
            const std::vector<uint8_t> other = impl_->store->get(prefix + std::to_string(r));
            if (other != first) differ.push_back(r);
        }
    } catch (const std::exception& e) {
        impl_->lost("the comparison of " + what, e);
    }
    if (differ.empty()) return;
    std::string ranks;
    for (int r : differ) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    const bool mine = std::find(differ.begin(), differ.end(), w.rank) != differ.end();
    fail("process group", (mine ? "my " + what + " differs from rank 0's" : what + " of rank(s) " + ranks + " differs from rank 0's") +
                             "; every rank must train the same run (the same run file, data and model)");
}

#endif  // DROPLORA_NO_GLOO

}  // namespace droplora::train
