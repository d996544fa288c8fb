import Testing
@testable import Swapper

@Suite struct ModelEnvironmentTests {
    @Test func onlyTheBasicsAndTheModelsOwnCrossOver() {
        let guardian = [
            "PATH": "/opt/bin:/usr/bin", "HOME": "/home/n", "LANG": "C.UTF-8", "TMPDIR": "/tmp/n",
            "DAGI_MESH_SECRET": "s3cret", "DAGI_KEY_ATLAS": "sk-atlas", "OPENAI_API_KEY": "sk-provider", "USER": "n",
        ]
        let environment = ModelEnvironment.make(guardian: guardian, model: ["CUDA_VISIBLE_DEVICES": "0", "LANG": "de_DE.UTF-8"])
        #expect(environment == [
            "PATH": "/opt/bin:/usr/bin", "HOME": "/home/n", "LANG": "de_DE.UTF-8", "TMPDIR": "/tmp/n", "CUDA_VISIBLE_DEVICES": "0",
        ])
    }

    @Test func aPathIsAlwaysSet() {
        #expect(ModelEnvironment.make(guardian: [:], model: [:]) == ["PATH": "/usr/bin:/bin"])
    }
}
