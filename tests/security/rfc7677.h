// RFC 7677's SCRAM-SHA-256 example exchange (section 3): user "user", password
// "pencil", 4096 iterations. Shared by the tests that replay it.
#pragma once

#include <string>
#include <string_view>

#include "security/scram.h"

namespace rfc7677 {

inline const std::string kClientNonce = "rOprNGfwEbeRWgbNEkqO";
inline const std::string kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
inline const std::string kSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";
inline const std::string kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
inline const std::string kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
inline const std::string kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
inline const std::string kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

inline flotilla::security::Bytes bytes(std::string_view s) { return {s.begin(), s.end()}; }
inline std::string text(const flotilla::security::Bytes& b) { return {b.begin(), b.end()}; }

}  // namespace rfc7677
