# file: lib/core/sizeclass.h
# tests: unit/check_sizeclass unit/check_api
# bug: size class too small for sizes not a multiple of 16
s|return mri_size_to_class16\[(size + 15) >> 4\];|return mri_size_to_class16[size >> 4];|
