# dg_layer(NAME [USES layer...] [INTERFACE header...] [EXTRA_SOURCES src...])
#
# One layer of the library: host/NAME/*.c as the object library dg_NAME.
# Its include path is build/layers/NAME/, which holds links to the public
# headers' folder and to the INTERFACE headers of each layer in USES, and
# nothing else. A layer's own headers are reached because a quoted include
# looks beside the including file first, so host/NAME's private headers
# serve host/NAME alone. Layers must be declared after those they use.
set(DG_LAYERS "" CACHE INTERNAL "")
# The rules as a file, for tests/test_layers.py: "layer: used layers".
file(WRITE ${CMAKE_BINARY_DIR}/layers/rules.txt "")
function(dg_layer name)
  cmake_parse_arguments(L "" "" "USES;INTERFACE;EXTRA_SOURCES" ${ARGN})
  file(GLOB src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/host/${name}/*.c)
  add_library(dg_${name} OBJECT ${src} ${L_EXTRA_SOURCES})
  set(inc ${CMAKE_BINARY_DIR}/layers/${name})
  file(REMOVE_RECURSE ${inc}/)
  file(MAKE_DIRECTORY ${inc})
  foreach(u ${L_USES})
    if(NOT DEFINED DG_LAYER_IFACE_${u})
      message(FATAL_ERROR "layer ${name} uses '${u}', declared later or not at all")
    endif()
    foreach(h ${DG_LAYER_IFACE_${u}})
      file(CREATE_LINK ${CMAKE_SOURCE_DIR}/host/${u}/${h} ${inc}/${h} SYMBOLIC)
    endforeach()
  endforeach()
  target_include_directories(dg_${name} PRIVATE ${CMAKE_SOURCE_DIR}/include
                             ${inc})
  target_compile_definitions(dg_${name} PRIVATE CL_TARGET_OPENCL_VERSION=120
    DG_KERNEL_SOURCE_DIR="${CMAKE_SOURCE_DIR}/kernels")
  set_target_properties(dg_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  string(JOIN " " uses_txt ${L_USES})
  string(JOIN " " iface_txt ${L_INTERFACE})
  file(APPEND ${CMAKE_BINARY_DIR}/layers/rules.txt
       "${name}: ${uses_txt} | ${iface_txt}\n")
  set(DG_LAYER_IFACE_${name} ${L_INTERFACE} CACHE INTERNAL "")
  set(DG_LAYER_USES_${name} ${L_USES} CACHE INTERNAL "")
  set(DG_LAYERS ${DG_LAYERS} ${name} CACHE INTERNAL "")
endfunction()
