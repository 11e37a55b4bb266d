package dev.ringflow.internal

import java.io.File
import java.io.IOException
import java.nio.file.AccessDeniedException
import java.nio.file.Files
import java.nio.file.LinkOption
import java.nio.file.Path
import java.nio.file.Paths
import java.nio.file.StandardCopyOption
import java.nio.file.attribute.PosixFilePermission
import java.nio.file.attribute.PosixFilePermissions
import java.security.MessageDigest

/**
 * Finds and loads the JNI library (`jni-glue`), as JVM libraries with native code do
 * (sqlite-jdbc, zstd-jni): the jar carries one build per platform under
 * `native/<platform>/<library file>`, for example `native/linux-x86_64/libringflow_jni.so`
 * (`linux-aarch64`, `darwin-x86_64`, `darwin-aarch64`, `android-arm64-v8a` and `android-x86_64`
 * are the other names [platform] returns; on Android the APK holds the library instead and
 * `System.loadLibrary` loads it).
 *
 * ### Order
 * 1. `-Dringflow.lib=/path/to/libringflow_jni.so`: that file, and nothing else.
 * 2. The jar's build for this platform, extracted once to a private, per-user, content-hashed
 *    file (below) and loaded from there.
 * 3. Otherwise an [UnsatisfiedLinkError] naming the platform and the override.
 *
 * ### The extracted file
 * `$XDG_CACHE_HOME/ringflow/native` (else `~/.cache/ringflow/native`, else
 * `java.io.tmpdir/ringflow-<uid>`), a directory this process's uid owns with mode 0700, under
 * parents no other user can change: each is owned by this uid or root, and one that others may
 * write to must be sticky (as `/tmp` is), so no one else can rename the directory away and put
 * their own in its place. A candidate that fails is skipped (the next one is tried): another user
 * could swap the library between the hash check and `System.load`. The directory holds
 * `libringflow_jni-<sha-256 prefix>.so`. Owners are compared by uid, not by name: a uid with no
 * passwd entry (common in containers) has `user.name` `?`.
 * The name is the content's hash, so two versions never overwrite each other and a file is never
 * rewritten in place: a new one is written to a temporary file in the same directory and renamed
 * over atomically, and an existing file is hashed again before it is loaded.
 *
 * Thread safety: called once, from `Native`'s initializer (the JVM runs that once).
 */
internal object NativeLibrary {
    /** The system property that names a library file to load instead of the jar's. */
    const val OVERRIDE = "ringflow.lib"

    private const val NAME = "ringflow_jni"

    /** Hex digits of the SHA-256 that name the extracted file. */
    private const val HASH_CHARS = 16

    /** Loads the library (see the class docs); throws [UnsatisfiedLinkError] with the reason. */
    fun load() {
        val override = System.getProperty(OVERRIDE)
        if (override != null) {
            System.load(File(override).absolutePath)
            return
        }
        val platform = platform(System.getProperty("os.name"), System.getProperty("os.arch"), isAndroid())
        val fileName = System.mapLibraryName(NAME)
        if (platform == null) throw unsupported("${System.getProperty("os.name")}/${System.getProperty("os.arch")}", fileName)
        if (platform.startsWith("android-")) {
            // Android installs the APK's libraries itself (lib/<abi>/ in the APK).
            System.loadLibrary(NAME)
            return
        }
        val resource = resourcePath(platform, fileName)
        val bytes = NativeLibrary::class.java.getResourceAsStream("/$resource")?.use { it.readBytes() }
            ?: throw unsupported(platform, fileName)
        val file = try {
            extract(bytes, cacheDir(), fileName)
        } catch (e: IOException) {
            throw UnsatisfiedLinkError(
                "ringflow: could not extract $resource from the jar ($e); pass the library's path with -D$OVERRIDE=/path/to/$fileName",
            )
        }
        System.load(file.toString())
    }

    /** The resource path of a platform's library in the jar. */
    fun resourcePath(platform: String, fileName: String) = "native/$platform/$fileName"

    /**
     * The platform's name in the jar's layout, from `os.name`, `os.arch` and whether this is
     * Android; null if ringflow is not built for it.
     */
    fun platform(osName: String, osArch: String, android: Boolean): String? {
        val arch = when (osArch.lowercase()) {
            "amd64", "x86_64" -> "x86_64"
            "aarch64", "arm64" -> "aarch64"
            else -> return null
        }
        val os = osName.lowercase()
        return when {
            android -> if (arch == "aarch64") "android-arm64-v8a" else "android-x86_64"
            os == "linux" -> "linux-$arch"
            os.startsWith("mac") || os == "darwin" -> "darwin-$arch"
            else -> null
        }
    }

    /** The one error for a platform the jar has no library for. */
    fun unsupported(platform: String, fileName: String) = UnsatisfiedLinkError(
        "ringflow: this jar has no native library for $platform (looked for ${resourcePath(platform, fileName)}); " +
            "build jni-glue for it (cargo build --release -p ringflow-jni) and pass its path with -D$OVERRIDE=/path/to/$fileName",
    )

    private fun isAndroid() = System.getProperty("java.vm.vendor").orEmpty().contains("Android", ignoreCase = true) ||
        System.getProperty("java.vendor").orEmpty().contains("Android", ignoreCase = true)

    /** The private directory the library is extracted to (created 0700 if missing). */
    private fun cacheDir(): Path {
        val xdg = System.getenv("XDG_CACHE_HOME")?.takeIf { it.isNotEmpty() }
        val home = System.getProperty("user.home")?.takeIf { it.isNotEmpty() && it != "?" }
        val candidates = listOfNotNull(
            xdg?.let { Paths.get(it, "ringflow", "native") },
            home?.let { Paths.get(it, ".cache", "ringflow", "native") },
            // Directly the private directory: a parent of ours in a shared directory would be one
            // more thing to check.
            Paths.get(System.getProperty("java.io.tmpdir"), "ringflow-${processUid()}"),
        )
        var last: IOException? = null
        for (dir in candidates) {
            try {
                return privateDir(dir)
            } catch (e: IOException) {
                last = e
            }
        }
        throw last!!
    }

    /**
     * [dir], created with mode 0700 if missing; an existing one must be a directory (not a link)
     * this process's uid owns with no access for others, and every parent must be one no other
     * user can change ([checkParent]).
     */
    fun privateDir(dir: Path): Path {
        val owner = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"))
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            dir.parent?.let { Files.createDirectories(it) }
            try {
                Files.createDirectory(dir, owner)
            } catch (_: java.nio.file.FileAlreadyExistsException) {
                // Another process created it meanwhile: checked below like any existing one.
            }
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) throw IOException("$dir is not a directory")
        val me = processUid()
        val uid = uidOf(dir)
        if (uid != me) throw AccessDeniedException("$dir", null, "owned by uid $uid, not this process's uid $me")
        val perms = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)
        val others = perms - setOf(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE)
        if (others.isNotEmpty()) throw AccessDeniedException("$dir", null, "open to others: ${PosixFilePermissions.toString(perms)}")
        // The parents as the kernel resolves them (a link to a parent is followed, as a lookup would).
        var parent: Path? = dir.toAbsolutePath().parent?.toRealPath()
        while (parent != null) {
            checkParent(parent, me)
            parent = parent.parent
        }
        return dir
    }

    /**
     * Throws unless no user but [me] and root can rename or replace entries of [parent]: it is
     * owned by one of them, and if its group or others may write to it, it is sticky (only an
     * entry's owner may then rename or delete it, as in `/tmp`).
     */
    private fun checkParent(parent: Path, me: Long) {
        val uid = uidOf(parent)
        if (uid != me && uid != 0L) throw AccessDeniedException("$parent", null, "a parent owned by uid $uid, neither this process's uid $me nor root")
        val mode = Files.getAttribute(parent, "unix:mode", LinkOption.NOFOLLOW_LINKS) as Int
        if ((mode and (S_IWGRP or S_IWOTH)) != 0 && (mode and S_ISVTX) == 0) {
            throw AccessDeniedException("$parent", null, "a parent others may write to and not sticky (mode ${Integer.toOctalString(mode and 0xfff)})")
        }
    }

    private const val S_IWGRP = 0x10 // 0o020
    private const val S_IWOTH = 0x2 // 0o002
    private const val S_ISVTX = 0x200 // 0o1000

    private fun uidOf(path: Path): Long = (Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS) as Number).toLong()

    /**
     * This process's (effective) uid: the owner of `/proc/self` on Linux, else of a file this
     * process creates (and deletes) in `java.io.tmpdir`. Not `user.name`: a uid with no passwd entry has
     * none.
     */
    fun processUid(): Long = cachedUid ?: run {
        // `/proc/self` is a link to `/proc/<pid>`, which the process's effective uid owns: follow it.
        val proc = Paths.get("/proc/self")
        val found = if (Files.isDirectory(proc)) {
            (Files.getAttribute(proc, "unix:uid") as Number).toLong()
        } else {
            uidOfNewFile(Paths.get(System.getProperty("java.io.tmpdir")))
        }
        cachedUid = found
        found
    }

    @Volatile
    private var cachedUid: Long? = null

    /** The owner of a file created now in [tmp] (deleted before this returns). */
    fun uidOfNewFile(tmp: Path): Long {
        val file = Files.createTempFile(tmp, ".ringflow-uid-", ".tmp")
        try {
            return uidOf(file)
        } finally {
            Files.deleteIfExists(file)
        }
    }

    /**
     * The library's bytes as `lib<name>-<hash>.<ext>` in [dir]: the existing file if its content
     * hashes the same, else written to a temporary file there and renamed over atomically.
     */
    fun extract(bytes: ByteArray, dir: Path, fileName: String): Path {
        val hash = sha256(bytes).substring(0, HASH_CHARS)
        val dot = fileName.lastIndexOf('.')
        val target = dir.resolve("${fileName.substring(0, dot)}-$hash${fileName.substring(dot)}")
        if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && sha256(Files.readAllBytes(target)).startsWith(hash)) {
            return target
        }
        // Mode 0600 (createTempFile's default on POSIX): only this user can write it.
        val temp = Files.createTempFile(dir, ".extract-", ".tmp")
        try {
            Files.write(temp, bytes)
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("r-x------"))
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
        } finally {
            Files.deleteIfExists(temp)
        }
        return target
    }

    private fun sha256(bytes: ByteArray): String =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }
}
