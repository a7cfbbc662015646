// The base64 rule of the webhook secret, shared by the configuration's check
// and the HMAC key decoded from it: each case here is read the same in both.

#include "rollupd/core/webhook_secret.hpp"

#include <gtest/gtest.h>

namespace rollup {
namespace {

TEST(Base64, AcceptsStandardTextWithOrWithoutPadding) {
  for (const char* good :
       {"YWJj", "YWI", "YWI=", "YQ", "YQ=", "YQ==", "YWJjZA", "YWJjZA==", "+/+/", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    EXPECT_TRUE(is_base64(good)) << good;
}

TEST(Base64, RefusesWhatDoesNotDecodeToWholeBytes) {
  for (const char* bad : {"", "=", "====", "Y", "Y=", "YWJjZ", "YWJjZ==="}) EXPECT_FALSE(is_base64(bad)) << bad;
}

TEST(Base64, RefusesMorePaddingThanTheLastGroupNeeds) {
  for (const char* bad : {"YWJj=", "YWJj==", "YWI==", "YQ===", "YWJjZA==="}) EXPECT_FALSE(is_base64(bad)) << bad;
}

TEST(Base64, RefusesCharactersOutsideTheStandardAlphabet) {
  for (const char* bad : {"YW-_", "YW J", "YWJj\n", "YW=j", "=YWJ", "not base64!", "\xffWJj"})
    EXPECT_FALSE(is_base64(bad)) << bad;
}

}  // namespace
}  // namespace rollup
