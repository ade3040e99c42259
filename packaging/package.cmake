# The Debian package (issue 17, docs/packaging.md): install rules for everything a host needs
# beside the two binaries, and CPack's DEB generator. Included by the top-level CMakeLists.txt;
# on only with -DHOSTFLOW_PACKAGE=ON (scripts/package.sh), so a plain `cmake --install` still
# installs just the binaries.
option(HOSTFLOW_PACKAGE "Install rules and CPack for the Debian package (scripts/package.sh)" OFF)

install(TARGETS hostflow-sampler hostflow-exporter RUNTIME DESTINATION sbin)
if(NOT HOSTFLOW_PACKAGE)
  return()
endif()
# Stripped as dh_strip does (symbols, .comment and .note sections).
foreach(bin hostflow-sampler hostflow-exporter)
  install(CODE "execute_process(COMMAND strip --remove-section=.comment --remove-section=.note
                \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/sbin/${bin}\" COMMAND_ERROR_IS_FATAL ANY)")
endforeach()

# Version: the project's, then the commit's UTC time and hash, so a later commit always sorts
# higher (0.1.0+git20261205021500.5c10c13); ".dirty" when tracked files differ from the commit.
execute_process(COMMAND ${CMAKE_COMMAND} -E env TZ=UTC
                        git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S
                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE git_time
                OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND git log -1 --format=%cD WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                OUTPUT_VARIABLE HOSTFLOW_GIT_RFC2822 OUTPUT_STRIP_TRAILING_WHITESPACE)
execute_process(COMMAND git status --porcelain --untracked-files=no
                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE git_dirty)
set(HOSTFLOW_GIT_SHA ${HOSTFLOW_REVISION})
set(HOSTFLOW_DEB_VERSION ${PROJECT_VERSION}+git${git_time}.${HOSTFLOW_REVISION})
if(git_dirty)
  string(APPEND HOSTFLOW_DEB_VERSION .dirty)
endif()

set(pkg ${CMAKE_BINARY_DIR}/package)
set(doc share/doc/hostflow)

# Man pages from --help (packaging/man.py; help2man is not needed) and the changelog, gzip -9n.
execute_process(COMMAND ${CMAKE_COMMAND} -E env TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%d
                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} OUTPUT_VARIABLE git_date
                OUTPUT_STRIP_TRAILING_WHITESPACE)
configure_file(${CMAKE_CURRENT_LIST_DIR}/changelog.in ${pkg}/changelog @ONLY)
set(generated ${pkg}/changelog.gz)
add_custom_command(OUTPUT ${pkg}/changelog.gz COMMAND gzip -9nkf ${pkg}/changelog
                   DEPENDS ${pkg}/changelog VERBATIM)
foreach(bin hostflow-sampler hostflow-exporter)
  add_custom_command(OUTPUT ${pkg}/${bin}.8.gz
                     COMMAND sh -c "python3 \"$1\" \"$2\" 8 \"$3\" | gzip -9n >\"$4\"" man
                             ${CMAKE_CURRENT_LIST_DIR}/man.py $<TARGET_FILE:${bin}> ${git_date}
                             ${pkg}/${bin}.8.gz
                     DEPENDS ${bin} ${CMAKE_CURRENT_LIST_DIR}/man.py VERBATIM)
  list(APPEND generated ${pkg}/${bin}.8.gz)
  install(FILES ${pkg}/${bin}.8.gz DESTINATION share/man/man8)
endforeach()
add_custom_target(hostflow-package-files DEPENDS ${generated})

# Units, sysusers (no tmpfiles.d: RuntimeDirectory=, StateDirectory= and LogsDirectory= make
# every directory), AppArmor profiles and /etc/default conffiles (packaging/debian/conffiles).
install(FILES ${CMAKE_SOURCE_DIR}/systemd/hostflow-sampler.service
              ${CMAKE_SOURCE_DIR}/systemd/hostflow-exporter.service
              ${CMAKE_SOURCE_DIR}/systemd/hostflow-exporter.socket
        DESTINATION /lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/systemd/hostflow.sysusers DESTINATION lib/sysusers.d
        RENAME hostflow.conf)
install(FILES ${CMAKE_SOURCE_DIR}/apparmor/usr.sbin.hostflow-sampler
              ${CMAKE_SOURCE_DIR}/apparmor/usr.sbin.hostflow-exporter
        DESTINATION /etc/apparmor.d)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/default/hostflow-sampler
              ${CMAKE_CURRENT_LIST_DIR}/default/hostflow-exporter
        DESTINATION /etc/default)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_CURRENT_LIST_DIR}/copyright
              ${pkg}/changelog.gz DESTINATION ${doc})
file(GLOB docs ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${docs} DESTINATION ${doc})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/compat DESTINATION ${doc})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hostflow)
set(CPACK_PACKAGE_VENDOR "hostflow developers")
set(CPACK_PACKAGE_CONTACT "hostflow developers <dev@hostflow.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
    GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION ${HOSTFLOW_DEB_VERSION})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers (postinst); the libraries come from dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "apparmor")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Prometheus exporter of who moves which bytes on a VM/container host")
set(CPACK_PACKAGE_DESCRIPTION
    "hostflow attributes every interface of a multi-tenant virtualization or
container host to the VM, container or bridge that owns it, summarises
tenants' conntrack flows per fixed IP against threat-intelligence lists,
counts TLS traffic per SNI from HAProxy logs and exact per-interface
counters from an eBPF TC program.

It runs as two confined processes: hostflow-sampler (root with only the
capabilities its sources need, a seccomp allowlist) writes a shared-memory
segment that hostflow-exporter (its own user, no capabilities) serves on
port 9471.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
