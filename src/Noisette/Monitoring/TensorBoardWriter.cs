using System.Text;

namespace Noisette.Monitoring;

/// <summary>
/// Writes TensorBoard event files (RUN/tensorboard/events.out.tfevents.*): TFRecord framing (length, masked
/// CRC-32C of the length, the Event protobuf, masked CRC-32C of the data) around hand-encoded Event messages with
/// scalar and PNG image summaries. <c>tensorboard --logdir RUN/tensorboard</c> shows them.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream stream;
    public string Path { get; }

    public TensorBoardWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory,
            $"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.noisette.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..8]}");
        stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var ev = new ProtoWriter();
        ev.Double(1, Now());
        ev.String(3, "brain.Event:2");
        Write(ev.ToArray());
    }

    private static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    public void AddScalar(string tag, double value, long step)
    {
        var v = new ProtoWriter();
        v.String(1, tag);
        v.Float(2, (float)value);
        WriteSummary(v.ToArray(), step);
    }

    /// <summary>
    /// Marks a restart (a SessionLog with status START) at <paramref name="step"/>: TensorBoard then discards the
    /// events of earlier files at this step and after, the orphans of a process that logged past the checkpoint a
    /// run was resumed from.
    /// </summary>
    public void AddSessionStart(long step)
    {
        var log = new ProtoWriter();
        log.Varint(1, 1);                   // SessionLog.status = START
        var ev = new ProtoWriter();
        ev.Double(1, Now());
        ev.Varint(2, (ulong)step);
        ev.Bytes(7, log.ToArray());         // Event.session_log
        Write(ev.ToArray());
    }

    /// <summary>Adds an image summary from PNG bytes.</summary>
    public void AddPng(string tag, byte[] png, int width, int height, int channels, long step)
    {
        var img = new ProtoWriter();
        img.Varint(1, (ulong)height);
        img.Varint(2, (ulong)width);
        img.Varint(3, (ulong)channels);
        img.Bytes(4, png);
        var v = new ProtoWriter();
        v.String(1, tag);
        v.Bytes(4, img.ToArray());
        WriteSummary(v.ToArray(), step);
    }

    private void WriteSummary(byte[] value, long step)
    {
        var summary = new ProtoWriter();
        summary.Bytes(1, value);
        var ev = new ProtoWriter();
        ev.Double(1, Now());
        ev.Varint(2, (ulong)step);
        ev.Bytes(5, summary.ToArray());
        Write(ev.ToArray());
    }

    private void Write(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BitConverter.TryWriteBytes(header, (ulong)data.Length);
        BitConverter.TryWriteBytes(header[8..], MaskedCrc(header[..8]));
        stream.Write(header);
        stream.Write(data);
        Span<byte> footer = stackalloc byte[4];
        BitConverter.TryWriteBytes(footer, MaskedCrc(data));
        stream.Write(footer);
        stream.Flush();
    }

    /// <summary>TFRecord's masked CRC-32C.</summary>
    public static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }

    public void Dispose() => stream.Dispose();

    /// <summary>The few protobuf wire-format encodings an Event needs.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream ms = new();

        private void Tag(int field, int wire) => Raw((ulong)(field << 3 | wire));

        private void Raw(ulong v)
        {
            while (v >= 0x80) { ms.WriteByte((byte)(v | 0x80)); v >>= 7; }
            ms.WriteByte((byte)v);
        }

        public void Varint(int field, ulong v) { Tag(field, 0); Raw(v); }
        public void Double(int field, double v) { Tag(field, 1); ms.Write(BitConverter.GetBytes(v)); }
        public void Float(int field, float v) { Tag(field, 5); ms.Write(BitConverter.GetBytes(v)); }
        public void Bytes(int field, byte[] b) { Tag(field, 2); Raw((ulong)b.Length); ms.Write(b); }
        public void String(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));
        public byte[] ToArray() => ms.ToArray();
    }
}
