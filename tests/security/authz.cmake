# security_authz_test: the ACL model (acl.h), the ACL index and the
# StandardAuthorizer (acl_index.h, authorizer.h). Sources in
# tests/security/authz/ so the *_test.cc glob of this directory does not
# pick them up twice.
file(GLOB FLOTILLA_AUTHZ_TEST_SRCS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/authz/*.cc)
add_executable(security_authz_test ${FLOTILLA_AUTHZ_TEST_SRCS})
target_link_libraries(security_authz_test PRIVATE flotilla_security GTest::gtest_main)
gtest_discover_tests(security_authz_test DISCOVERY_TIMEOUT 60)
