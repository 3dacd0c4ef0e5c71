#include "core/data/reclaimer.h"

#include <cstdio>

namespace dfs::data {

Reclaimer::Reclaimer(BlockStore* store, Peers peers, std::string cluster_id, uint64_t reserve_bytes, double period_s,
                     const std::atomic<bool>* stop)
    : store_(store),
      peers_(std::move(peers)),
      cluster_id_(std::move(cluster_id)),
      reserve_bytes_(reserve_bytes),
      period_s_(period_s),
      stop_(stop) {}

Reclaimer::~Reclaimer() {
  if (thread_.joinable()) thread_.join();
}

void Reclaimer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Reclaimer::Run() {
  neighbours_ = std::make_unique<Neighbours>(Peers{peers_.meta, {}, peers_.connect}, stop_);
  do {
    Round();
  } while (SleepUnlessStopped(period_s_, *stop_));
}

void Reclaimer::Round() {
  while (!stop_->load()) {
    auto page = neighbours_->ListDeleted(cursor_);
    if (!page.ok()) break;  // the meta server is away: next round
    if (page->cluster_id != cluster_id_) {
      fprintf(stderr, "dfs data %u: the meta server at %s belongs to cluster %s, not %s: deleting nothing\n",
              store_->index(), peers_.meta.c_str(), page->cluster_id.c_str(), cluster_id_.c_str());
      break;
    }
    uint64_t moved = 0;
    {
      for (uint64_t fid : page->fids) {
        if (store_->Holds(fid) && store_->Delete(fid).ok()) ++moved;
      }
    }
    files_reclaimed_ += moved;
    cursor_ = page->next;
    if (!page->more) break;
  }
  uint64_t short_of_space = store_->PurgeTrash(reserve_bytes_);
  if (short_of_space) {
    fprintf(stderr, "dfs data %u: free space under the reserve: emptied %llu bytes of trash early\n", store_->index(),
            static_cast<unsigned long long>(short_of_space));
  }
}

}  // namespace dfs::data
