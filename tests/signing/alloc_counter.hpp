#pragma once
// Counts this test program's C++ heap allocations, so a test can show a path makes none.
// The replacement operators live in alloc_counter.cpp, a translation unit of their own: when
// GCC can inline `operator delete` (which calls free) into a caller that used `operator new`,
// it reports -Wmismatched-new-delete although the pair is matched.
namespace test_support {
long heap_allocations() noexcept;
} // namespace test_support
