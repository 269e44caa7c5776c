using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Tessera.Bench.Parity;

/// <summary>
/// Short in-process job: the parity suite is ~50 cases on a 2-core machine, so each case gets two
/// warm-ups and five 150 ms iterations — enough for stable GB/s on these tight loops.
/// </summary>
public sealed class ParityBenchConfig : ManualConfig
{
    public ParityBenchConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(150))
            .WithId("short"));
        AddColumn(new ThroughputColumn(), BenchmarkDotNet.Columns.StatisticColumn.Median);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
    }
}
