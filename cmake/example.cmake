# Extracts the usage example of include/detgrid/detgrid.h: the lines between
# " * ---- example.c ----" and " * ---- end of example.c ----", less the
# comment's " * " prefix and the example's four-space indent, into OUT.
# Run as: cmake -DIN=<detgrid.h> -DOUT=<example.c> -P example.cmake
file(READ ${IN} text)
set(begin " * ---- example.c ----\n")
set(end " * ---- end of example.c ----\n")
string(FIND "${text}" "${begin}" b)
string(FIND "${text}" "${end}" e)
if(b LESS 0 OR e LESS 0 OR e LESS b)
  message(FATAL_ERROR "${IN}: no example between '${begin}' and '${end}'")
endif()
string(LENGTH "${begin}" n)
math(EXPR b "${b} + ${n}")
math(EXPR n "${e} - ${b}")
string(SUBSTRING "${text}" ${b} ${n} code)
# " *     x" -> "x" and " *" -> "".
string(REGEX REPLACE "(^|\n) \\*(     ?)?" "\\1" code "${code}")
file(WRITE ${OUT}.tmp
  "/* Generated from ${IN}; edit the header, not this. */\n${code}")
# Only a change rewrites OUT, so that an unchanged example is not rebuilt.
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp
                ${OUT})
file(REMOVE ${OUT}.tmp)
