#include "client/client.h"

#include <utility>

namespace podnet::client {

core::Result<std::vector<Json>> listAll(Client& client, const ResourceInfo& resource,
                                        std::string_view ns, int64_t pageSize) {
  std::vector<Json> out;
  ListOptions options;
  options.limit = pageSize;
  while (true) {
    auto page = client.list(resource, ns, options);
    if (!page) return page.takeError();
    auto items = page->find("items");
    if (items != page->end() && items->is_array())
      for (Json& item : *items) {
        if (item.is_object() && !item.contains("kind")) item["kind"] = resource.kind;
        out.push_back(std::move(item));
      }
    std::string next;
    if (auto metadata = page->find("metadata"); metadata != page->end() && metadata->is_object())
      if (auto token = metadata->find("continue"); token != metadata->end() && token->is_string())
        next = token->get<std::string>();
    if (next.empty()) break;
    options.continueToken = next;
  }
  return out;
}

}  // namespace podnet::client
