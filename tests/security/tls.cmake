# security_tls_test: SslConfig, TlsContext (handshakes over loopback), peer
# principals and ssl.principal.mapping.rules. Sources in tests/security/tls/
# so a *_test.cc glob of this directory does not pick them up twice.
file(GLOB FLOTILLA_TLS_TEST_SRCS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tls/*.cc)
add_executable(security_tls_test ${FLOTILLA_TLS_TEST_SRCS})
target_link_libraries(security_tls_test PRIVATE flotilla_security GTest::gtest_main)
gtest_discover_tests(security_tls_test DISCOVERY_TIMEOUT 60)
