package dev.ringflow

import dev.ringflow.internal.NativeLibrary
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.IOException
import java.nio.file.AccessDeniedException
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.nio.file.attribute.PosixFilePermissions

/** How `NativeLibrary` names platforms and extracts the jar's library (`CliJarIT` loads it). */
class NativeLibraryTest {
    @field:TempDir
    lateinit var dir: Path

    @Test
    fun `platforms map to the jar's resource directories`() {
        assertEquals("linux-x86_64", NativeLibrary.platform("Linux", "amd64", false))
        assertEquals("linux-aarch64", NativeLibrary.platform("Linux", "aarch64", false))
        assertEquals("android-arm64-v8a", NativeLibrary.platform("Linux", "aarch64", true))
        assertEquals("android-x86_64", NativeLibrary.platform("Linux", "x86_64", true))
        assertEquals("darwin-aarch64", NativeLibrary.platform("Mac OS X", "aarch64", false))
        assertEquals("darwin-x86_64", NativeLibrary.platform("Mac OS X", "x86_64", false))
        assertNull(NativeLibrary.platform("Linux", "riscv64", false))
        assertNull(NativeLibrary.platform("Windows 11", "amd64", false))
        assertEquals("native/linux-x86_64/libringflow_jni.so", NativeLibrary.resourcePath("linux-x86_64", "libringflow_jni.so"))
    }

    @Test
    fun `an unsupported platform gets one error naming it and the override`() {
        val message = NativeLibrary.unsupported("Linux/riscv64", "libringflow_jni.so").message!!
        assertTrue("Linux/riscv64" in message, message)
        assertTrue("-Dringflow.lib=" in message, message)
    }

    @Test
    fun `the library is extracted once to a private content-hashed file, and a tampered one is replaced`() {
        val cache = NativeLibrary.privateDir(dir.resolve("cache"))
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)))
        val bytes = ByteArray(10_000) { it.toByte() }
        val file = NativeLibrary.extract(bytes, cache, "libringflow_jni.so")
        assertTrue(file.fileName.toString().matches(Regex("libringflow_jni-[0-9a-f]{16}\\.so")), file.toString())
        assertArrayEquals(bytes, Files.readAllBytes(file))
        val modified = Files.getLastModifiedTime(file)
        assertEquals(file, NativeLibrary.extract(bytes, cache, "libringflow_jni.so"))
        assertEquals(modified, Files.getLastModifiedTime(file), "an intact file is not rewritten")
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"))
        Files.write(file, byteArrayOf(1, 2, 3))
        assertEquals(file, NativeLibrary.extract(bytes, cache, "libringflow_jni.so"))
        assertArrayEquals(bytes, Files.readAllBytes(file), "a tampered file is replaced")
        assertEquals(listOf(file), Files.list(cache).use { it.toList() }, "no temporary file is left")
        // Another version lands beside it, under its own hash.
        val other = NativeLibrary.extract(ByteArray(10) { 7 }, cache, "libringflow_jni.so")
        assertTrue(other != file)
    }

    @Test
    fun `a cache directory others can open is refused`() {
        val open = Files.createDirectory(dir.resolve("open"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"))
        assertThrows<IOException> { NativeLibrary.privateDir(open) }
        val link = Files.createSymbolicLink(dir.resolve("link"), NativeLibrary.privateDir(dir.resolve("real")))
        assertThrows<IOException> { NativeLibrary.privateDir(link) }
    }

    @Test
    fun `a parent others may write to is refused unless sticky, as a pre-created shared one would be`() {
        // Another user who could write to the parent could rename the private directory away
        // and put their own in its place between the hash check and System.load.
        val shared = Files.createDirectory(dir.resolve("shared"))
        Files.setAttribute(shared, "unix:mode", 0x1ff) // 0777
        val e = assertThrows<AccessDeniedException> { NativeLibrary.privateDir(shared.resolve("native")) }
        assertTrue("not sticky" in e.message!!, e.message)
        // Below it, too: every parent up to the root is checked.
        assertThrows<AccessDeniedException> { NativeLibrary.privateDir(shared.resolve("a").resolve("native")) }
        Files.setAttribute(shared, "unix:mode", 0x3ff) // 01777, as /tmp
        val ok = NativeLibrary.privateDir(shared.resolve("sticky"))
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(ok)))
    }

    @Test
    fun `owners are compared by uid, so a uid with no passwd entry (user name ?) still loads`() {
        val name = System.getProperty("user.name")
        System.setProperty("user.name", "?")
        try {
            NativeLibrary.privateDir(dir.resolve("nameless"))
        } finally {
            System.setProperty("user.name", name)
        }
        // Both ways of finding this process's uid agree (the second is what macOS uses).
        assertEquals(NativeLibrary.processUid(), NativeLibrary.uidOfNewFile(dir))
        assertEquals(listOf<Path>(), Files.list(dir).use { s -> s.filter { it.fileName.toString().startsWith(".ringflow-uid-") }.toList() })
    }

    @Test
    fun `a directory another uid owns is refused`() {
        val foreign = if (NativeLibrary.processUid() == 0L) {
            // As root: a directory handed to another uid (nobody's).
            Files.createDirectory(dir.resolve("foreign"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                .also { Files.setAttribute(it, "unix:uid", 65534) }
        } else {
            Paths.get("/") // root's
        }
        val e = assertThrows<AccessDeniedException> { NativeLibrary.privateDir(foreign) }
        assertTrue("owned by uid" in e.message!!, e.message)
    }
}
