# file: lib/core/pagemap.h
# tests: unit/check_api
# bug: page map indexes by the wrong page
s|return leaf\[(a >> MRI_PAGE_SHIFT) \&|return leaf[(a >> (MRI_PAGE_SHIFT + 1)) \&|
