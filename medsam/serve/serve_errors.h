// What a request can do wrong beyond a malformed field (UsageError, HTTP 400): name an image the store
// does not hold (404), send more than a route keeps (413), or bytes that are no image format we read (415).
#pragma once

#include "medsam/core/error.h"

namespace medsam::serve {

class NotFoundError : public UsageError {
 public:
  using UsageError::UsageError;
};

class PayloadTooLargeError : public UsageError {
 public:
  using UsageError::UsageError;
};

class UnsupportedMediaError : public UsageError {
 public:
  using UsageError::UsageError;
};

}  // namespace medsam::serve
