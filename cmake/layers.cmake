# layers.cmake — one static library per folder of src/ (a layer), linked only
# downward. Each layer compiles against build/layers/<layer>/, a directory of
# symbolic links to its own folder and to the folders of the layers it may
# use, and nothing else: `#include "insights/dora.h"` from src/store/ finds no
# such file and the build fails. Includes are always written "layer/file.h"
# (a quoted include of a sibling file, "file.h", would bypass the tree, and so
# would "../"; scripts/layers.sh checks that neither is used).
#
#   conway_layer(<name> [<lower layer>...])
# defines cw_<name> from src/<name>/*.c, linking cw_<lower>... PUBLIC.

function(conway_layer name)
  set(tree ${CMAKE_BINARY_DIR}/layers/${name})
  file(REMOVE_RECURSE ${tree})
  file(MAKE_DIRECTORY ${tree})
  foreach(l ${name} ${ARGN})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${l} ${tree}/${l} SYMBOLIC)
  endforeach()
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.c)
  if(name STREQUAL "store" AND NOT PQ_FOUND)
    list(FILTER srcs EXCLUDE REGEX ".*/store/postgres.*\\.c$")
  endif()
  if(name STREQUAL "ingest" AND NOT AMQP_FOUND)
    list(FILTER srcs EXCLUDE REGEX ".*/ingest/amqp.*\\.c$")
  endif()
  add_library(cw_${name} STATIC ${srcs})
  target_include_directories(cw_${name} PRIVATE ${tree})
  foreach(l ${ARGN})
    target_link_libraries(cw_${name} PUBLIC cw_${l})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY CONWAY_LAYERS ${name})
endfunction()
