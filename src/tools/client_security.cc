#include "tools/client_security.h"

#include "client/connection.h"
#include "net/client_security.h"

namespace flotilla::tools {

void apply_client_security(const std::map<std::string, std::string>& props) {
  auto security = std::make_shared<const net::ClientSecurity>(net::client_security_from_properties(props));
  client::set_default_security(security->protocol != security::SecurityProtocol::PLAINTEXT ? security : nullptr);
}

}  // namespace flotilla::tools
